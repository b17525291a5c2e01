"""The training loss's cost: ``utils.losses.SegmentationLoss`` against its one-hot form.

Both compute the same value: the class-weighted cross-entropy over labelled pixels plus
``--dice`` x (1 - soft Dice over the classes present). The one-hot form is the textbook one the
project used until 2026-12-07 (softmax probabilities and one-hot truth images of (B, H, W, C),
multiplied and summed per class); ``SegmentationLoss`` gets each pixel's probability of its true
class from the cross-entropy it already has (``utils.losses.soft_dice_loss``). Each round times
the forward and backward pass of both on the same random batch (logits as the model gives them,
a few void pixels), alternating; the best round of each and their ratio are printed, with the
largest difference of the two values.

    python benchmarks/bench_loss.py [--batch 8] [--height 128] [--width 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from utils import losses  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402
from utils.labels import IGNORE_ID  # noqa: E402


def one_hot_loss(ids, logits, weights, dice: float):  # noqa: ANN001, ANN201
    """Per-image loss (B,) of the one-hot form: the same terms as ``SegmentationLoss``."""
    c = logits.shape[-1]
    valid = ids < c
    safe = tf.where(valid, ids, 0)
    mask = tf.cast(valid, tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(safe, logits)
    n_valid = tf.maximum(tf.reduce_sum(mask, axis=(1, 2)), 1.0)
    loss = tf.reduce_sum(ce * mask * tf.gather(weights, safe), axis=(1, 2)) / n_valid
    probs = tf.nn.softmax(logits) * mask[..., None]
    truth = tf.one_hot(safe, c) * mask[..., None]
    inter = tf.reduce_sum(probs * truth, axis=(0, 1, 2))
    counts = tf.reduce_sum(truth, axis=(0, 1, 2))
    score = (2.0 * inter + 1.0) / (tf.reduce_sum(probs, axis=(0, 1, 2)) + counts + 1.0)
    present = tf.cast(counts > 0, tf.float32)
    return loss + dice * (1.0 - tf.reduce_sum(score * present) / tf.reduce_sum(present))


def timed(loss_fn, ids, logits, steps: int) -> tuple[float, np.ndarray]:  # noqa: ANN001
    """(seconds per forward + backward pass, the per-image loss) of a traced ``loss_fn``."""

    @tf.function
    def step(x):  # noqa: ANN001, ANN202
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss_fn(ids, x)
        return value, tape.gradient(tf.reduce_sum(value), x)

    for _ in range(2):
        value, _ = step(logits)
    start = time.perf_counter()
    for _ in range(steps):
        step(logits)
    return (time.perf_counter() - start) / steps, value.numpy()


def main(argv: list[str] | None = None) -> None:
    """Time both forms in alternating rounds; print seconds, the ratio and the value gap."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--dice", type=float, default=2.0, help="Dice weight (model 2's: 2)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="timed passes per round")
    args = ap.parse_args(argv)
    c = ColourMapping.palette().num_classes
    rng = np.random.default_rng(0)
    shape = (args.batch, args.height, args.width)
    ids = rng.integers(0, c, shape).astype(np.int32)
    ids[rng.random(shape) < 0.05] = IGNORE_ID
    logits = tf.constant(rng.normal(size=(*shape, c)).astype(np.float32))
    weights = rng.uniform(0.5, 10.0, c).astype(np.float32)
    project = losses.SegmentationLoss(c, weights, dice_weight=args.dice)
    forms = {
        "SegmentationLoss": lambda y, x: project.call(y, x),
        "one-hot form": lambda y, x: one_hot_loss(y, x, weights, args.dice),
    }
    best = dict.fromkeys(forms, float("inf"))
    values = {}
    for r in range(args.rounds):
        this = {}
        for name, fn in forms.items():
            this[name], values[name] = timed(fn, ids, logits, args.steps)
            best[name] = min(best[name], this[name])
        print(f"round {r + 1}: " + ", ".join(f"{n} {s * 1e3:.1f} ms" for n, s in this.items()))
    gap = np.abs(values["SegmentationLoss"] - values["one-hot form"]).max()
    print(f"batch {shape} x {c} classes, Dice weight {args.dice:g}; forward + backward, best:")
    for name in forms:
        ratio = best[name] / best["one-hot form"]
        print(f"  {name:18s} {best[name] * 1e3:7.1f} ms  {ratio:.2f}x")
    print(f"largest difference of the per-image losses: {gap:.2e}")


if __name__ == "__main__":
    main()
