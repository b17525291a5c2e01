"""Robustness to other cameras: held-out mIoU of trained models on darker and flatter photos.

The series is also judged on street photos from another camera, where dark and low-contrast
photos are read badly. Those photos are not here, so this benchmark makes the held-out cities
look like them, with fixed photometric changes of every photo (labels untouched), and scores
each model at native resolution (``utils.evaluate.confusion_matrices``' protocol) under each:

- ``clean``: the photos as they are;
- ``dark``: gamma 2 (mid grey 0.5 -> 0.25: an under-exposed camera);
- ``dim``: half the brightness;
- ``flat``: half the contrast around each photo's mean (haze, a cheap lens);
- ``dark_flat``: gamma 2, then half the contrast.

It prints a table of mIoU (and the share of the clean score kept) per model and condition, all
models in one run, and writes ``robustness.json`` and ``robustness.md`` to ``--out``.

    python benchmarks/bench_robustness.py --models runs/real_dice/models/model2 \
        runs/real_photo/models/model2 --out runs/robustness
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from utils import data, inference, metrics, model, runio  # noqa: E402


def _contrast(x, factor: float):  # noqa: ANN001, ANN202
    import tensorflow as tf

    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value(mean + (x - mean) * factor, 0.0, 1.0)


CONDITIONS: dict[str, Callable] = {
    "clean": lambda x: x,
    "dark": lambda x: x**2.0,
    "dim": lambda x: x * 0.5,
    "flat": lambda x: _contrast(x, 0.5),
    "dark_flat": lambda x: _contrast(x**2.0, 0.5),
}


def score(model_dir: Path, files: Sequence[Path], conditions: Sequence[str], tta: str) -> dict:
    """Native-resolution mIoU and pixel accuracy of one model under each condition."""
    import tensorflow as tf

    net, mapping, config = model.load_trained(model_dir)
    size = tuple(config["input_size"])
    cms = {c: metrics.ConfusionMatrixMetric(mapping.num_classes) for c in conditions}
    for photos, ids in inference.scoring_batches(files, size, tta, mapping.tf_apply, check=False):
        for c in conditions:
            scores = inference.fused_logits(net, [CONDITIONS[c](x) for x in photos], tta)
            resized = tf.image.resize(scores, tf.shape(ids)[1:3], method="bilinear")
            cms[c].update_state(ids, resized)
    out = {}
    for c, cm in cms.items():
        s = metrics.scores(cm.matrix())
        out[c] = {"mean_iou": s["mean_iou"], "pixel_accuracy": s["pixel_accuracy"]}
        print(f"{model_dir}: {c:10s} mIoU {s['mean_iou']:.4f}", flush=True)
    return out


def table(results: dict[str, dict], conditions: Sequence[str]) -> str:
    """Markdown: one row per model, mIoU per condition with the share of its clean score."""
    head = "| model | " + " | ".join(conditions) + " |"
    rows = [head, "|" + "---|" * (len(conditions) + 1)]
    for name, r in results.items():
        clean = r["clean"]["mean_iou"] if "clean" in r else None
        cells = []
        for c in conditions:
            m = r[c]["mean_iou"]
            cells.append(f"{m:.4f}" + (f" ({m / clean:.0%})" if clean and c != "clean" else ""))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", type=Path, required=True, help="model folders")
    ap.add_argument("--data", default="../shared/data/cityscapes_pairs")
    ap.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=list(CONDITIONS))
    ap.add_argument("--tta", choices=inference.TTA_MODES, default="none")
    ap.add_argument("--max-images", type=int, default=0, help="0: all held-out pairs")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_robustness"))
    args = ap.parse_args(argv)
    if "clean" not in args.conditions:
        args.conditions.insert(0, "clean")
    out = runio.writable_dir(args.out)
    for m in args.models:
        model.load_config(m)  # a missing or foreign folder is named before any work
    splits = data.find_dataset(args.data)
    files = data.check_files(splits.val[: args.max_images or None])
    print(
        f"{len(files)} held-out pairs ({splits.layout}); conditions: {', '.join(args.conditions)}"
    )
    results = {str(m): score(m, files, args.conditions, args.tta) for m in args.models}
    md = table(results, args.conditions)
    print(md)
    runio.save_json(
        {"files": len(files), "tta": args.tta, "results": results}, out / "robustness.json"
    )
    runio.atomic_write_bytes(out / "robustness.md", (md + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
