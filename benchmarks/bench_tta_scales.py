"""Which scales the multi-scale test-time augmentation should run a trained model at.

Each set of scales (each scale with its mirror image, logits averaged, as ``--tta multiscale``
does with ``utils.inference.MULTISCALE``) scores the model on the held-out split at the labels'
own resolution, as ``utils.evaluate`` does; one row per set, with its lowest class::

    python benchmarks/bench_tta_scales.py --model runs/realzoom/models/model2 \
        --data ../shared/data/cityscapes_pairs --scales 1,4/3 1,4/3,5/3 3/4,1,4/3 1,3/2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from fractions import Fraction

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from utils import data, evaluate, inference, model  # noqa: E402


def parse_scales(text: str) -> tuple[float, ...]:
    """``"3/4,1,4/3"`` -> (0.75, 1.0, 1.333...): ascending, 1 included, each above 0."""
    try:
        scales = tuple(sorted(float(Fraction(part)) for part in text.split(",")))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r}: scales like 1,4/3 or 3/4,1,4/3") from None
    if 1.0 not in scales or scales[0] <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the scales must include 1 and be above 0")
    return scales


@contextlib.contextmanager
def multiscale(scales: Sequence[float]) -> Iterator[None]:
    """``--tta multiscale`` runs at ``scales`` inside the block, at the default's after it.

    The project's scales are a module constant, not a parameter threaded through evaluation,
    so this probe swaps it for the duration of one scoring.
    """
    kept = inference.MULTISCALE
    inference.MULTISCALE = tuple(scales)
    try:
        yield
    finally:
        inference.MULTISCALE = kept


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model folder RUN_DIR/models/VARIANT")
    ap.add_argument("--data", required=True, help="dataset folder or folder of pair files")
    ap.add_argument(
        "--scales", nargs="+", type=parse_scales, default=[inference.MULTISCALE],
        help="sets of scales, each comma-separated (default: the project's)",
    )  # fmt: skip
    args = ap.parse_args(argv)

    net, mapping, config = model.load_trained(args.model)
    files = data.check_files(data.pair_files(args.data, "val"))
    size = tuple(config["input_size"])
    print(f"{len(files)} held-out files, input {size}; each scale with its mirror image")
    print("| photo sizes | native mIoU | pixel acc. | lowest class | seconds |")
    print("|---|---|---|---|---|")
    for scales in args.scales:
        with multiscale(scales):
            sizes = inference.tta_sizes(size, "multiscale")
            start = time.perf_counter()
            score = evaluate.score_model(net, files, mapping, size, tta="multiscale", check=False)
        low = min(score["per_class_iou"].items(), key=lambda kv: kv[1])
        shown = " + ".join(f"{h} x {w}" for h, w in sizes)
        print(
            f"| {shown} | {score['mean_iou']:.4f} | {score['pixel_accuracy']:.3f} | "
            f"{low[0]} {low[1]:.3f} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
