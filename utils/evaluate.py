"""Evaluate a trained model on labelled pair files: accuracy, class accuracy, IoU, confusion.

    python -m utils.evaluate --model runs/real/models/model1 --data ../shared/data/cityscapes_pairs
    python -m utils.evaluate --model MODEL --data DIR --split all --epoch 12 --out DIR

``--data`` is a dataset folder (any Kaggle layout: its validation split is used, or the held-out
part of train for a train-only dataset; ``--split`` picks another) or a plain folder of pair
files (all of them). Scores are at the labels' native resolution: logits resized (bilinear) to
the label size, as ``utils.predict`` writes them, with the same test-time augmentation by
default (``multiscale``: the logits of photo and mirror at the input size and at 4/3 of it
averaged; ``--tta flip`` the input size alone, ``--tta none`` the photo alone; see
``utils.inference``).
Scores are dataset-level, from one confusion matrix (see ``utils.metrics``). Writes
``OUT/evaluation.json`` and ``OUT/confusion_matrix.png`` (default OUT: MODEL/evaluation).

Bad input: ``--out`` is checked before the model loads, and every pair file is decoded once
before the evaluation starts, all bad files named (``--skip-bad-files`` leaves them out and
lists them). If writing the results fails at the end, the scores are still printed and the
message says where they could not be written (exit status 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from utils import checks, data, inference, metrics, model, rims, runio, viz
from utils.viz import training as viz_training

log = logging.getLogger(__name__)

SPLITS = data.SPLITS


def dataset_files(data_dir: str | os.PathLike, split: str = "val") -> list[Path]:
    """Pair files to evaluate: a split of a dataset folder, or every image of a plain folder."""
    return data.pair_files(data_dir, split)


def confusion_matrices(
    net,  # noqa: ANN001
    files: Sequence[Path],
    mapping,  # noqa: ANN001
    input_size: Sequence[int],
    *,
    tta: str = "none",
    batch_size: int = 16,
    progress: bool | None = None,
    check: bool = True,
) -> dict[str, np.ndarray]:
    """Confusion matrices of a model over pair files: ``native``, ``input_size``, ``without_rims``.

    ``native``: logits resized (bilinear) to the label's own resolution before the argmax,
    exactly as ``utils.predict`` writes its PNGs: the number to report. ``input_size``: labels
    resized (nearest) to the model's input size instead, as during training: flatters the model
    (with ``multiscale``, the scales' fused logits resized down to the input size).
    ``without_rims``: ``native`` with the JPEG rims of ``utils.rims.RIM_CLASSES`` void in the
    labels: how well the real walls, trucks, buses and trains are found.
    ``check=False`` skips the full decode check for files a caller has already checked.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    size = tuple(int(s) for s in input_size)
    native = metrics.ConfusionMatrixMetric(mapping.num_classes)
    small = metrics.ConfusionMatrixMetric(mapping.num_classes)
    rimless = metrics.ConfusionMatrixMetric(mapping.num_classes)
    rim_ids = rims.class_ids_of(rims.RIM_CLASSES, mapping.class_names)
    show = sys.stderr.isatty() if progress is None else progress
    batches = inference.scoring_batches(files, size, tta, mapping.tf_apply, batch_size, check)
    for photos, ids in tqdm(batches, desc="evaluate", unit="batch", disable=not show):
        scores = inference.fused_logits(net, photos, tta)
        at_native = tf.image.resize(scores, tf.shape(ids)[1:3], method="bilinear")
        native.update_state(ids, at_native)
        rimless.update_state(rims.without_rims(ids, rim_ids), at_native)
        if len(photos) > 1:  # the scales' logits meet at the largest size: back to the input's
            scores = tf.image.resize(scores, size, method="bilinear")
        small_ids = tf.image.resize(ids[..., None], size, method="nearest")[..., 0]
        small.update_state(small_ids, scores)
    return {
        "native": native.matrix(),
        "input_size": small.matrix(),
        "without_rims": rimless.matrix(),
    }


def predict_at_input_size(
    net, files: Sequence[Path], mapping, input_size, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """(photos, true ids, predicted ids) of pair files at the model's input size, as NumPy.

    For figures (photo | truth | prediction side by side); scores come from ``score_model``.
    """
    ds = data.make_dataset(
        files, tuple(input_size), label_mapper=mapping.tf_apply, batch_size=batch_size, cache=False
    )
    photos, truths, preds = [], [], []
    for x, y in ds:
        photos.append(x.numpy())
        truths.append(y.numpy())
        preds.append(np.argmax(np.asarray(net(x, training=False)), axis=-1).astype(np.uint8))
    return np.concatenate(photos), np.concatenate(truths), np.concatenate(preds)


def compare(results: dict[str, dict]) -> dict:
    """Which model is better by mIoU, by how much, and on which classes (from ``summary`` dicts)."""
    ranked = sorted(results, key=lambda m: results[m]["mean_iou"], reverse=True)
    best, other = ranked[0], ranked[-1]
    a, b = results[best]["per_class_iou"], results[other]["per_class_iou"]
    gains = {c: round(a[c] - b[c], 4) for c in a if a[c] is not None and b.get(c) is not None}
    order = sorted(gains, key=gains.get, reverse=True)
    return {
        "better": best,
        "other": other,
        "mean_iou": {m: results[m]["mean_iou"] for m in ranked},
        "mean_iou_gain": round(results[best]["mean_iou"] - results[other]["mean_iou"], 4),
        "pixel_accuracy_gain": round(
            results[best]["pixel_accuracy"] - results[other]["pixel_accuracy"], 4
        ),
        "classes_better": [c for c in order if gains[c] > 0.01],
        "classes_worse": [c for c in reversed(order) if gains[c] < -0.01],
        "per_class_gain": gains,
    }


def verdict(comparison: dict, top: int = 5) -> str:
    """One paragraph saying which model is better, by how much, and on which classes."""
    c = comparison
    if c["better"] == c["other"]:
        return f"Only {c['better']} was evaluated (mIoU {c['mean_iou'][c['better']]:.3f})."
    gains = c["per_class_gain"]
    up = ", ".join(f"{n} (+{gains[n]:.3f})" for n in c["classes_better"][:top]) or "none"
    down = ", ".join(f"{n} ({gains[n]:.3f})" for n in c["classes_worse"][:top]) or "none"
    return (
        f"**{c['better']}** is better: mIoU {c['mean_iou'][c['better']]:.3f} against "
        f"{c['mean_iou'][c['other']]:.3f} for {c['other']} (+{c['mean_iou_gain']:.3f}; pixel "
        f"accuracy {c['pixel_accuracy_gain']:+.3f}). Largest IoU gains: {up}. "
        f"Classes where {c['other']} is better: {down}."
    )


def score_model(
    net,  # noqa: ANN001
    files: Sequence[Path],
    mapping,  # noqa: ANN001
    input_size: Sequence[int],
    *,
    tta: str = "none",
    batch_size: int = 16,
    check: bool = True,
) -> dict:
    """JSON-ready scores of a model on pair files at native resolution (``metrics.summary``).

    Adds ``at_input_size`` (the same with labels shrunk to the input size: secondary, it
    flatters thin classes), ``without_rims`` (secondary: the labels' JPEG rims of wall, truck,
    bus and train left out, ``utils.rims``), ``files``, ``resolution``, ``tta`` and the
    ``confusion_matrix``.
    """
    cms = confusion_matrices(
        net, files, mapping, input_size, tta=tta, batch_size=batch_size, check=check
    )
    result = metrics.summary(cms["native"], mapping.class_names)
    result.update(
        files=len(files),
        resolution="native (labels' own size)",
        tta=tta,
        at_input_size=metrics.summary(cms["input_size"], mapping.class_names),
        without_rims=metrics.summary(cms["without_rims"], mapping.class_names),
        confusion_matrix=cms["native"].tolist(),
    )
    return result


def evaluate(
    model_dir: str | os.PathLike,
    files: Sequence[Path],
    out_dir: str | os.PathLike | None = None,
    epoch: int | None = None,
    batch_size: int = 16,
    tta: str = inference.DEFAULT_TTA,
    skip_bad: bool = False,
) -> dict:
    """Scores (``score_model``) of the best model or of ``epoch`` on ``files``; JSON + figure.

    The output folder is checked first and every file decoded before the model runs (bad files
    raise, or with ``skip_bad`` are left out and listed in ``skipped_files``). A failed write
    at the end keeps the scores: ``not_saved`` says where and why, and nothing is raised.
    """
    checks.whole("batch_size", batch_size, 1)
    if epoch is not None:
        checks.whole("epoch", epoch, 1)
    inference.check_tta(tta)
    out = runio.writable_dir(out_dir or model.model_dir_of(model_dir) / "evaluation")
    net, mapping, config = model.load_trained(model_dir)
    if epoch is not None:
        net = model.load_epoch(model_dir, epoch)
    good = data.check_files(list(files), skip_bad=skip_bad)
    skipped = sorted(set(map(str, files)) - set(map(str, good)))
    log.info("scoring %d files with %s (TTA %s)", len(good), model_dir, tta)
    result = score_model(  # the files were decoded once just above
        net, good, mapping, config["input_size"], tta=tta, batch_size=batch_size, check=False
    )
    result.update(
        model=str(Path(model_dir)),
        weights=f"epoch {epoch}" if epoch else "best (model.keras)",
        skipped_files=skipped,
        out_dir=str(out),
    )
    try:
        runio.save_json(result, out / "evaluation.json")
        title = f"{config['variant']} ({result['weights']}) on {len(good)} images: row-normalised"
        fig = viz_training.confusion_matrix(
            np.asarray(result["confusion_matrix"]), mapping.class_names, title
        )
        viz.save_png(fig, out / "confusion_matrix.png")
        plt.close(fig)
    except OSError as e:
        result["not_saved"] = f"{out}: {e.strerror or e}"
        log.warning("evaluation results could not be written to %s", result["not_saved"])
    return result


def report(result: dict) -> str:
    """The scores of ``score_model`` / ``evaluate`` as a text table (the one per-class report)."""
    weights = f", weights: {result['weights']}" if "weights" in result else ""
    lines = [
        f"{result['files']} images, {result['pixels']} labelled pixels at native resolution"
        f"{weights}, TTA: {result.get('tta', 'none')}",
        f"pixel accuracy       {result['pixel_accuracy']:.4f}",
        f"mean class accuracy  {result['mean_class_accuracy']:.4f}",
        f"mean IoU             {result['mean_iou']:.4f}",
        "per-class IoU:",
    ]
    for name, iou in result["per_class_iou"].items():
        lines.append(f"  {name:14s} {'   -' if iou is None else f'{iou:.3f}'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.evaluate",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    ap.add_argument("--model", required=True, help="model folder RUN_DIR/models/VARIANT")
    ap.add_argument("--data", required=True, help="dataset folder or folder of pair files")
    ap.add_argument("--split", choices=SPLITS, default="val")
    ap.add_argument("--epoch", type=int, default=None, help="evaluate this epoch's weights")
    ap.add_argument("--out", default=None, help="output folder (default MODEL/evaluation)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument(
        "--tta",
        choices=inference.TTA_MODES,
        default=inference.DEFAULT_TTA,
        help="multiscale (default, as utils.predict): flip at the input size and at 4/3 of it; "
        "flip: average the logits of each photo and its mirror image; none: the photo alone",
    )
    ap.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="leave unreadable or malformed pair files out (listed) instead of stopping",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        checks.whole("--batch-size", args.batch_size, 1)
        if args.epoch is not None:
            checks.whole("--epoch", args.epoch, 1)
    except checks.ParameterError as e:
        ap.error(str(e))
    try:
        files = dataset_files(args.data, args.split)
        result = evaluate(
            args.model, files, args.out, args.epoch, args.batch_size, args.tta,
            skip_bad=args.skip_bad_files,
        )  # fmt: skip
    except (OSError, ValueError) as e:
        print(f"evaluate failed: {e}", file=sys.stderr)
        return 1
    print(report(result))
    small = result["at_input_size"]
    print(f"(at the model's input size, secondary: mIoU {small['mean_iou']:.4f})")
    rimless = result["without_rims"]
    shown = {c: rimless["per_class_iou"].get(c) for c in rims.RIM_CLASSES}
    vehicles = ", ".join(f"{c} {'-' if v is None else f'{v:.3f}'}" for c, v in shown.items())
    print(f"(labels without JPEG rims, secondary: mIoU {rimless['mean_iou']:.4f}; {vehicles})")
    if result["skipped_files"]:
        print(f"left out {len(result['skipped_files'])} bad files: {result['skipped_files']}")
    if "not_saved" in result:
        print(f"evaluate: the scores above could not be written to {result['not_saved']}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"saved {result['out_dir']}/evaluation.json and confusion_matrix.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
