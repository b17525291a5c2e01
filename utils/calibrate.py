"""Class biases fitted after training for mIoU: one number per class added to the logits.

    python -m utils.calibrate --model runs/real/models/model2 --data ../shared/data/cityscapes_pairs

A network trained on a weighted cross-entropy and Dice ranks the classes well, but where it draws
the line between two of them is set by its loss, not by mean IoU: a bias per class, added to the
logits, moves those lines. The biases are fitted by coordinate ascent on the mIoU of the
held-out photos (never the training ones: the network is surer of those, and biases fitted there
cost the rare classes), with each photo's logits exactly as ``utils.predict`` makes them (the
chosen TTA, resized to the labels' own size). A bias passes unchanged through the bilinear
upsampling, the mirror and the scales of every TTA mode, so the fitted biases hold for all.

The gain is scored honestly by cross-fitting: the held-out photos are split into groups (their
cities for the Cityscapes pair files, else contiguous blocks), biases are fitted on all groups
but one and scored on that one, and the scores of the left-out groups are pooled. The biases
kept are then fitted on every held-out photo. They are written to ``MODEL/calibration.json``
(with both scores), which ``utils.model.load_trained`` adds to the model's class scores:
``utils.predict``, ``utils.evaluate`` and notebooks 04-06 use them; deleting the file undoes it.
No library fits per-class decision offsets for a set-level metric such as mIoU (scikit-learn's
threshold tuning is binary), hence the small search here.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils import data, holdout, inference, metrics, model, runio

log = logging.getLogger(__name__)

PIXEL_STRIDE = 4  # every 4th pixel of every 4th row at the labels' size: 4096 per 256 x 256 label
SWEEPS = 3  # passes over the classes; each halves the previous pass's steps
GRID = np.linspace(-1.5, 1.5, 31)  # bias changes tried per class in the first pass (logit units)
GROUPS = 3  # contiguous blocks for cross-fitting when the files' cities are unknown


def collect_logits(
    net,  # noqa: ANN001
    files: Sequence[Path],
    mapping,  # noqa: ANN001
    input_size: Sequence[int],
    tta: str = inference.DEFAULT_TTA,
    stride: int = PIXEL_STRIDE,
    check: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logits (N, C) float32, labels (N,), file index (N,)) of every ``stride``-th pixel of
    every ``stride``-th row, at the labels' own size as ``utils.predict`` makes them; void
    pixels (ids >= C) are left out."""
    import tensorflow as tf

    size = tuple(int(s) for s in input_size)
    parts, labels, owners, seen = [], [], [], 0
    batches = inference.scoring_batches(files, size, tta, mapping.tf_apply, 16, check)
    for photos, ids in batches:
        scores = inference.fused_logits(net, photos, tta)
        scores = tf.image.resize(scores, tf.shape(ids)[1:3], method="bilinear")
        z = scores.numpy()[:, ::stride, ::stride]
        y = ids.numpy()[:, ::stride, ::stride].astype(np.int64)
        owner = np.broadcast_to(np.arange(seen, seen + len(y))[:, None, None], y.shape)
        keep = y < mapping.num_classes
        parts.append(z[keep].astype(np.float32))
        labels.append(y[keep])
        owners.append(owner[keep])
        seen += len(y)
    return np.concatenate(parts), np.concatenate(labels), np.concatenate(owners)


def mean_iou(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> tuple[float, np.ndarray]:
    """(mIoU, per-class IoU) of class-id arrays, as ``utils.metrics.scores`` counts them."""
    iou = metrics.scores(metrics.confusion_matrix(truth, pred, num_classes))["per_class_iou"]
    return float(np.nanmean(iou)), iou


def fit_biases(
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    sweeps: int = SWEEPS,
    grid: np.ndarray = GRID,
    floor: float = 0.15,
) -> np.ndarray:
    """Per-class biases (C,) that raise the mIoU of ``argmax(logits + biases)`` over ``labels``.

    Coordinate ascent: for each class in turn, the bias change from ``grid`` (shrunk by half in
    each later sweep) with the best mIoU is kept, ties going to the smaller bias. A change that
    puts a class below ``floor`` (or below its IoU before, if that was lower) is not taken.
    """
    num_classes = logits.shape[1]
    biases = np.zeros(num_classes, np.float32)
    _, start = mean_iou(labels, logits.argmax(1), num_classes)
    lowest = np.minimum(np.nan_to_num(start, nan=1.0), floor) - 1e-9
    for sweep in range(sweeps):
        for c in range(num_classes):
            others = logits + biases
            others[:, c] = -np.inf
            best_other, other_id = others.max(1), others.argmax(1)
            best, chosen = -1.0, biases[c]
            for step in grid / 2**sweep:
                value = biases[c] + step
                pred = np.where(logits[:, c] + value > best_other, c, other_id)
                score, iou = mean_iou(labels, pred, num_classes)
                if np.any(np.nan_to_num(iou, nan=1.0) < lowest):
                    continue
                if score > best + 1e-7 or (score > best - 1e-7 and abs(value) < abs(chosen)):
                    best, chosen = score, value
            biases[c] = chosen
        log.info("calibration sweep %d: mIoU %.4f on the photos fitted", sweep + 1, best)
    return biases


def cross_fit(
    logits: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    **fit_options,
) -> dict[str, np.ndarray]:
    """Confusion matrices ``before`` and ``after`` over every group, each group's pixels scored
    with the biases fitted on the other groups' pixels: an honest estimate of the gain."""
    num_classes = logits.shape[1]
    before = np.zeros((num_classes, num_classes), np.int64)
    after = np.zeros_like(before)
    for g in np.unique(groups):
        test = groups == g
        biases = fit_biases(logits[~test], labels[~test], **fit_options)
        before += metrics.confusion_matrix(labels[test], logits[test].argmax(1), num_classes)
        after += metrics.confusion_matrix(
            labels[test], (logits[test] + biases).argmax(1), num_classes
        )
    return {"before": before, "after": after}


def file_groups(files: Sequence[Path], groups: int = GROUPS) -> list[str]:
    """A cross-fitting group per file: its city for the Cityscapes pair files, else one of
    ``groups`` contiguous blocks (neighbouring frames of one street stay together)."""
    cities = holdout.cities_of(files)
    if cities is not None and len(set(cities)) > 1:
        return cities
    n = len(files)
    return [f"block {i * groups // n + 1}" for i in range(n)]


def calibrate(
    model_dir: str | os.PathLike,
    files: Sequence[Path],
    *,
    tta: str = inference.DEFAULT_TTA,
    check: bool = True,
) -> dict:
    """Fit class biases on the held-out ``files`` for the trained model in ``model_dir``, write
    them to ``MODEL/calibration.json`` with the cross-fitted scores before and after, and return
    that record. An earlier calibration is set aside first: the biases are fitted afresh."""
    folder = model.model_dir_of(model_dir)
    net, mapping, config = model.load_trained(folder, calibrated=False)
    owners = file_groups(files)
    if len(set(owners)) < 2:
        raise ValueError(f"{len(files)} held-out files in one group: too few to cross-fit")
    logits, labels, index = collect_logits(
        net, files, mapping, config["input_size"], tta, check=check
    )
    groups = np.asarray(owners)[index]
    matrices = cross_fit(logits, labels, groups)
    biases = fit_biases(logits, labels)
    names = list(mapping.class_names)
    record = {
        "class_biases": {n: round(float(b), 4) for n, b in zip(names, biases, strict=True)},
        "tta": tta,
        "fitted_on": len(files),
        "groups": sorted(set(owners)),
        "pixel_stride": PIXEL_STRIDE,
        "cross_fitted": {k: metrics.summary(m, names) for k, m in matrices.items()},
    }
    runio.save_json(record, folder / model.CALIBRATION_FILE)
    return record


def report(record: dict) -> str:
    """Cross-fitted mIoU and lowest class before and after, and the biases, as text."""
    lines = [f"cross-fitted over {', '.join(record['groups'])} (TTA {record['tta']}):"]
    for key in ("before", "after"):
        s = record["cross_fitted"][key]
        iou = {n: v for n, v in s["per_class_iou"].items() if v is not None}
        low = min(iou, key=iou.get)
        lines.append(f"  {key:6s} mIoU {s['mean_iou']:.4f}  lowest {low} {iou[low]:.3f}")
    biases = ", ".join(f"{n} {b:+.2f}" for n, b in record["class_biases"].items())
    lines.append(f"biases: {biases}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Calibrate a trained model on its dataset's held-out photos; print the report."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.calibrate", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--model", required=True, help="trained model folder")
    ap.add_argument("--data", required=True, help="dataset folder (its val or held-out split)")
    ap.add_argument("--tta", default=inference.DEFAULT_TTA, choices=inference.TTA_MODES)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    files = data.pair_files(args.data, "val")
    try:
        record = calibrate(args.model, files, tta=args.tta)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
