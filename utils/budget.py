"""Fitting a training run to a time budget on this machine: time a step, count the epochs.

The same recipe takes 2 minutes an epoch on one day's 2-core machine and 6 on another's, so a
fixed epoch count either wastes the budget or overruns it, and a cosine schedule cut short
never reaches its low learning rates. ``TrainConfig.train_minutes`` asks instead for as many
epochs as fit: :func:`step_seconds` times a few training steps of a throwaway copy of the model
on batches of the run's own training pipeline (its decoding and augmentation share the CPU
with the steps: timed on random data instead, model 2 came out at least 14 % fast and overran
a 33-minute budget by 3.6 minutes), and :func:`epochs_for` divides the budget by the epoch it
predicts. The budget counts training steps; validation, scoring and figures come on top.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence

import keras
import numpy as np

TIMED_STEPS = 8  # steps timed after two warm-up steps
OVERHEAD = 1.05  # an epoch's steps take a little longer than the timed ones (input pipeline)


def step_seconds(
    net: keras.Model,
    batch_size: int,
    size: Sequence[int],
    num_classes: int,
    steps: int = TIMED_STEPS,
    batches: Iterable | None = None,
) -> float:
    """Seconds of one training step of a compiled ``net`` (after two untimed warm-up steps), on
    ``batches`` of (photos, ids) (e.g. the training dataset, input pipeline included) or, without
    them, on random data of ``batch_size`` x ``size``."""
    if batches is None:
        rng = np.random.default_rng(0)
        x = rng.random((batch_size, *size, 3), dtype=np.float32)
        y = rng.integers(0, num_classes, (batch_size, *size)).astype(np.uint8)
        batches = itertools.repeat((x, y))
    stream = iter(batches)
    for _ in range(2):
        net.train_on_batch(*next(stream))
    start = time.perf_counter()
    for _ in range(steps):
        net.train_on_batch(*next(stream))
    return (time.perf_counter() - start) / steps


def epochs_for(minutes: float, step_s: float, steps_per_epoch: int) -> int:
    """Whole epochs (at least 1) of ``steps_per_epoch`` steps that fit ``minutes``."""
    return max(1, int(minutes * 60 / (OVERHEAD * step_s * steps_per_epoch)))
