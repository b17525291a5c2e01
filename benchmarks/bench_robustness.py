"""Robustness to other cameras: held-out mIoU of trained models on darker, flatter, tinted photos.

The series is also judged on street photos from another camera, where dark and low-contrast
photos are read badly. Those photos are not here, so this benchmark makes the held-out cities
look like them, with fixed photometric changes of every photo (labels untouched), and scores
each model at native resolution (``utils.evaluate.confusion_matrices``' protocol) under each:

- ``clean``: the photos as they are;
- ``dark``: gamma 2 (mid grey 0.5 -> 0.25: an under-exposed camera);
- ``dim``: half the brightness;
- ``flat``: half the contrast around each photo's mean (haze, a cheap lens);
- ``dark_flat``: gamma 2, then half the contrast;
- ``bright``: gamma 1/2 (mid grey 0.5 -> 0.71: an over-exposed camera);
- ``warm``: red x1.2, blue x0.8 (another camera's white balance, or a warmer light);
- ``cool``: red x0.8, blue x1.2.

The changed photos are rounded to 8 bits, as a camera writes them (a dark photo keeps fewer
shades in its shadows; before 2026-12-07 the bench scored them unrounded). Each model is scored
with its tone guard (``utils.tone``) on and off: a model saved without one (model 1, models
trained before it) gets one fitted to the training photos of ``--data`` for the "on" rows.

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

from utils import data, inference, metrics, model, runio, tone  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402


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
    "bright": lambda x: x**0.5,
    "warm": lambda x: x * [1.2, 1.0, 0.8],
    "cool": lambda x: x * [0.8, 1.0, 1.2],
}
GUARD_MODES = ("off", "on")


def eight_bit(x):  # noqa: ANN001, ANN201
    """Photos in [0, 1] rounded to 256 levels."""
    import tensorflow as tf

    return tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0) / 255.0


def score(
    model_dir: Path, files: Sequence[Path], conditions: Sequence[str], tta: str, fitted: dict
) -> dict:
    """Native-resolution mIoU and pixel accuracy of one model under each condition, with its
    tone guard off and on (``fitted`` limits where the model has no guard of its own)."""
    import tensorflow as tf

    net, mapping, config = model.load_trained(model_dir)
    size = tuple(config["input_size"])
    own = model.tone_guard_of(net)
    saved = own.limits() if own is not None else None
    out = {}
    for mode in GUARD_MODES:
        if own is not None:
            own.set_limits(saved if mode == "on" else tone.OFF)
        before = tone.guard if own is None and mode == "on" else None
        cms = {c: metrics.ConfusionMatrixMetric(mapping.num_classes) for c in conditions}
        batches = inference.scoring_batches(files, size, tta, mapping.tf_apply, check=False)
        for photos, ids in batches:
            for c in conditions:
                shown = [eight_bit(CONDITIONS[c](x)) for x in photos]
                shown = [before(x, fitted) for x in shown] if before else shown
                scores = inference.fused_logits(net, shown, tta)
                resized = tf.image.resize(scores, tf.shape(ids)[1:3], method="bilinear")
                cms[c].update_state(ids, resized)
        for c, cm in cms.items():
            s = metrics.scores(cm.matrix())
            out[f"{c}/{mode}"] = {"mean_iou": s["mean_iou"], "pixel_accuracy": s["pixel_accuracy"]}
            print(f"{model_dir}: guard {mode:3s} {c:10s} mIoU {s['mean_iou']:.4f}", flush=True)
    out["guard"] = "own" if own is not None else "fitted"
    out["limits"] = saved or fitted
    return out


def table(results: dict[str, dict], conditions: Sequence[str]) -> str:
    """Markdown: one row per model and guard mode, mIoU per condition with the share of that
    model's clean score with the guard off (the photos as they are, the model as it was)."""
    head = "| model | tone guard | " + " | ".join(conditions) + " |"
    rows = [head, "|" + "---|" * (len(conditions) + 2)]
    for name, r in results.items():
        clean = r.get("clean/off", {}).get("mean_iou")
        for mode in GUARD_MODES:
            cells = []
            for c in conditions:
                m = r[f"{c}/{mode}"]["mean_iou"]
                share = clean and (c != "clean" or mode != "off")
                cells.append(f"{m:.4f}" + (f" ({m / clean:.0%})" if share else ""))
            label = f"{mode} ({r.get('guard', 'own')})" if mode == "on" else mode
            rows.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def training_limits(splits: data.Splits, size: tuple, mapping) -> dict:  # noqa: ANN001
    """The tone guard's limits from the training photos at ``size`` (as ``utils.train`` sets
    them), for models saved without a guard."""
    batches = data.make_dataset(
        splits.train, size, label_mapper=mapping.tf_apply, batch_size=32, cache=False, check=False
    )
    return tone.tone_limits(batches)


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
    configs = {m: model.load_config(m) for m in args.models}  # bad folders named before work
    splits = data.find_dataset(args.data)
    files = data.check_files(splits.val[: args.max_images or None])
    print(
        f"{len(files)} held-out pairs ({splits.layout}); conditions: {', '.join(args.conditions)}"
    )
    fitted: dict[tuple, dict] = {}
    results = {}
    for m, config in configs.items():
        size = tuple(config["input_size"])
        if size not in fitted:
            mapping = ColourMapping.load(model.model_dir_of(m) / model.MAPPING_FILE)
            fitted[size] = training_limits(splits, size, mapping)
        results[str(m)] = score(m, files, args.conditions, args.tta, fitted[size])
    md = table(results, args.conditions)
    print(md)
    runio.save_json(
        {"files": len(files), "tta": args.tta, "results": results}, out / "robustness.json"
    )
    runio.atomic_write_bytes(out / "robustness.md", (md + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
