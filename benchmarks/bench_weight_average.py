"""Averaged weights of a run's last epochs against its own best epoch, at native resolution.

Stochastic weight averaging (Izmailov et al., 2018) after the fact: the per-epoch weights a
training run saves (``epochs/epoch_NNN.weights.h5``) are averaged over ``--first``..``--last``,
and the batch-norm statistics are then re-estimated on the run's training photos (averaged
weights do not match averaged statistics). Each is scored on the held-out split as
``utils.evaluate`` scores (logits resized to the labels' own size, no TTA)::

    python benchmarks/bench_weight_average.py --model runs/bench_rfs/runs/wide96/models/model2 \
        --data ../shared/data/cityscapes_pairs --first 12 --last 16
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils import data, evaluate, model  # noqa: E402


def average_weights(model_dir: str, first: int, last: int) -> list[np.ndarray]:
    """The element-wise mean of the saved weights of epochs ``first``..``last``."""
    runs = [model.load_epoch(model_dir, e).get_weights() for e in range(first, last + 1)]
    return [np.mean(arrays, axis=0) for arrays in zip(*runs, strict=True)]


def reestimate_batch_norm(net: keras.Model, batches) -> None:  # noqa: ANN001 - tf.data batches
    """Batch-norm moving statistics replaced by their mean over ``batches`` (training mode).

    Written here because Keras has no counterpart of PyTorch's ``swa_utils.update_bn``: each
    layer's momentum is set to 1 - 1/t for the t-th batch, so the moving values end as the plain
    mean of the batches' statistics.
    """
    norms = [x for x in net.layers if isinstance(x, keras.layers.BatchNormalization)]
    kept = [x.momentum for x in norms]
    for t, (photos, _) in enumerate(batches, start=1):
        for x in norms:
            x.momentum = 1.0 - 1.0 / t
        net(photos, training=True)
    for x, momentum in zip(norms, kept, strict=True):
        x.momentum = momentum


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model folder RUN_DIR/models/VARIANT")
    ap.add_argument("--data", required=True, help="dataset folder or folder of pair files")
    ap.add_argument("--first", type=int, required=True, help="first epoch averaged (from 1)")
    ap.add_argument("--last", type=int, required=True, help="last epoch averaged")
    ap.add_argument("--bn-batches", type=int, default=100, help="batches of 16 training photos")
    args = ap.parse_args()

    best, mapping, config = model.load_trained(args.model)
    size = tuple(config["input_size"])
    val = data.pair_files(args.data, "val")
    train = data.pair_files(args.data, "train")

    def batches():  # noqa: ANN202 - shuffled training photos, without augmentation
        ds = data.make_dataset(
            train, size, label_mapper=mapping.tf_apply, batch_size=16, shuffle=True, cache=False,
            check=False,
        )  # fmt: skip
        return ds.take(args.bn_batches)

    averaged = model.build_from_config(config)
    averaged.set_weights(average_weights(args.model, args.first, args.last))
    last = model.load_epoch(args.model, args.last)
    mean = f"mean of epochs {args.first}-{args.last}"
    candidates = {f"epoch {args.last}": last, mean: averaged}

    def row(name: str, net: keras.Model) -> None:
        score = evaluate.score_model(net, val, mapping, size, check=False)
        print(f"| {name} | {score['mean_iou']:.4f} | {score['pixel_accuracy']:.3f} |", flush=True)

    print(f"{len(val)} held-out files, {len(train)} training files, input {size}")
    print("| weights | native mIoU | pixel acc. |\n|---|---|---|")
    row("best epoch (model.keras)", best)
    for name, net in candidates.items():
        row(f"{name}, batch-norm statistics as saved (the mean's: averaged)", net)
    for name, net in candidates.items():
        start = time.perf_counter()
        reestimate_batch_norm(net, batches())
        seconds = time.perf_counter() - start
        row(f"{name}, batch-norm statistics re-estimated ({seconds:.0f} s)", net)


if __name__ == "__main__":
    main()
