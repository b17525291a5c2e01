"""Training throughput: the project's training vs a plain Keras fit on NumPy arrays, side by side.

Both train the same UNet (model 1 by default) on the same pairs at the same size and batch size.
The plain fit gets every image preloaded into NumPy arrays and Keras' own sparse cross-entropy,
in Keras' default float32 and also under the project's dtype policy (on CPUs with native
bfloat16 the project trains in mixed bfloat16, see ``utils.devices.precision_policy``). The
project's training streams ``utils.data.make_dataset`` (cached, shuffled, flipped; with
``--augment full`` also the zoom/crop and colour-jitter map), with its class-weighted loss, the
confusion-matrix metric and the per-epoch callbacks (epoch weights, snapshot figure, history,
backup). Epochs alternate (order rotated every round) so that a change in machine load hits
all; the first epoch of each (tracing, cache filling) is not timed; median and best epoch rates
are printed, per wall-clock second and per CPU-second. Validation is left out. The input
pipeline alone (the same augmented dataset, no model) is timed too.

    python benchmarks/bench_training.py [--data ../shared/data/cityscapes_pairs] [--images 960]
                                        [--size 128] [--batch 16] [--epochs 4] [--variant model1]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from utils import augment, data, devices, history, model, train  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402

PLAIN = ["float32"]  # what a plain fit runs in; the project's policy is added beside it


class EpochTimer(keras.callbacks.Callback):
    """Wall and CPU time of each epoch including the other callbacks' end-of-epoch work (put it
    last). CPU time (all threads of this process) is robust to other jobs on a shared machine."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start, self._cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu)


def project_setup(splits: data.Splits, cfg: train.TrainConfig, mapping: ColourMapping, out: Path):
    """The project's dataset, compiled model and per-epoch callbacks (as in ``train.train``)."""
    prep = train.prepare(splits, mapping, cfg)  # counting classes also fills the cache
    net = model.build_unet(mapping.num_classes, cfg.size, cfg.variant, **cfg.architecture)
    train.compile_model(net, cfg, mapping.num_classes, prep.class_weights, prep.steps_per_epoch)
    photos, truths = history.snapshot_samples(prep.val_files, mapping, cfg.size)
    timer = EpochTimer()
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            str(out / "epochs" / model.EPOCH_WEIGHTS), save_weights_only=True
        ),
        history.EpochSnapshot(
            photos, truths, out / "snaps", "output_{epoch}_epo.png", mapping, "b"
        ),
        history.HistoryWriter(out),
        keras.callbacks.BackupAndRestore(out / "backup"),  # cleared after each fit call
        timer,
    ]
    return net, prep.train_ds, callbacks, timer


def numpy_arrays(dataset) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """All (photo, ids) batches of a dataset as two NumPy arrays."""
    xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in dataset), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def pipeline_rate(dataset, epochs: int = 2) -> float:  # noqa: ANN001
    """Images per second of iterating the dataset alone (after one warm-up pass)."""
    for _ in dataset:
        pass
    start, n = time.perf_counter(), 0
    for _ in range(epochs):
        n += sum(int(x.shape[0]) for x, _ in dataset)
    return n / (time.perf_counter() - start)


def main() -> None:
    """Alternate epochs of all, then print images per second and the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="dataset folder (default: $CITYSCAPES_DATA or ../shared/data)"
    )
    ap.add_argument("--images", type=int, default=960, help="training pairs used")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=4, help="timed epochs of each (after 1 warm-up)")
    ap.add_argument("--variant", default="model1", choices=model.VARIANTS)
    ap.add_argument("--precision", default="auto", help="auto | off | a Keras dtype policy")
    ap.add_argument("--augment", default=train.TrainConfig.augment, choices=augment.AUGMENT_MODES)
    args = ap.parse_args()

    keras.utils.set_random_seed(0)
    cfg = train.TrainConfig(
        variant=args.variant,
        image_size=args.size,
        batch_size=args.batch,
        max_train_images=args.images,
        max_val_images=args.batch,
        mixed_precision=args.precision,
        augment=args.augment,
    )
    policy = devices.precision_policy(cfg.mixed_precision)
    keras.mixed_precision.set_global_policy(policy)
    splits = data.find_dataset(data.resolve_root(args.data, fallback=data.SHARED_DATA))
    mapping = ColourMapping.palette()
    print(
        f"{args.images} pairs from {args.data} at {args.size}x{args.size}, batch {args.batch}, "
        f"{args.variant}, policy {policy}, augment {args.augment}, {os.cpu_count()} CPU cores"
    )

    with tempfile.TemporaryDirectory() as tmp:
        net, train_ds, callbacks, timer = project_setup(splits, cfg, mapping, Path(tmp))
        unaugmented = dataclasses.replace(cfg, augment="none")
        plain_ds = train.prepare(splits, mapping, unaugmented, count_classes=False).train_ds
        x, y = numpy_arrays(plain_ds)
        plain = {
            p: plain_model(mapping.num_classes, args, p) for p in dict.fromkeys(PLAIN + [policy])
        }
        timers = {p: EpochTimer() for p in plain}
        runs = [lambda: net.fit(train_ds, verbose=0, callbacks=callbacks)] + [
            lambda p=p: plain[p].fit(x, y, batch_size=args.batch, verbose=0, callbacks=[timers[p]])
            for p in plain
        ]
        for i in range(args.epochs + 1):  # alternate, rotating the order; the first is warm-up
            for run in runs[i % len(runs) :] + runs[: i % len(runs)]:
                run()
        pipe = pipeline_rate(train_ds)

    n = len(x)
    timers = {f"project training ({policy})": timer} | {
        f"plain fit on NumPy ({p})": t for p, t in timers.items()
    }
    ours = f"project training ({policy})"
    for unit, attr in (
        ("images/s (wall clock)", "seconds"),
        ("images per CPU-second", "cpu_seconds"),
    ):
        rates = {k: n / np.array(getattr(t, attr)[1:]) for k, t in timers.items()}
        print(f"{unit} per timed epoch: median, best, all")
        for name, r in rates.items():
            print(f"  {name:40s} {np.median(r):6.1f} {r.max():6.1f}  {np.round(r, 1)}")
        for name, r in rates.items():
            if name != ours:
                mid, top = np.median(rates[ours]) / np.median(r), rates[ours].max() / r.max()
                print(f"  ratio project / {name}: median {mid:.2f}, best {top:.2f}")
    ours_rate = np.median(n / np.array(timer.seconds[1:]))
    print(
        f"input pipeline alone (augmented): {pipe:.1f} images/s = "
        f"{pipe / ours_rate:.0f} x the project's training rate"
    )


def plain_model(num_classes: int, args: argparse.Namespace, policy: str) -> keras.Model:
    """The same UNet built under ``policy``, compiled plainly: Adam 1e-3, Keras cross-entropy."""
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        net = model.build_unet(num_classes, (args.size,) * 2, args.variant)
    finally:
        keras.mixed_precision.set_global_policy(before)
    net.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255),
    )
    return net


if __name__ == "__main__":
    main()
