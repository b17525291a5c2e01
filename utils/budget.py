"""Fitting a training run to a time budget on this machine: time a step, count the epochs.

The same recipe takes 2 minutes an epoch on one day's 2-core machine and 6 on another's, so a
fixed epoch count either wastes the budget or overruns it, and a cosine schedule cut short
never reaches its low learning rates. ``TrainConfig.train_minutes`` asks instead for as many
epochs as fit: :func:`step_seconds` times a few training steps of a throwaway copy of the model
on batches of the run's own training pipeline (its decoding and augmentation share the CPU
with the steps: timed on random data instead, model 2 came out at least 14 % fast and overran
a 33-minute budget by 3.6 minutes), and :func:`epochs_for` divides the budget by the epoch it
predicts. The budget counts training steps; validation, scoring and figures come on top.

The machine can also change speed during a run (epochs of the same model went from 2.4 to 3.5
minutes within one run here). :class:`BudgetClock` measures every epoch's training time, logs
the running total (``train_minutes`` in ``history.csv``) and, when the epochs left would
overrun the budget by more than :data:`TOLERANCE`, ends the run earlier and shortens the
:class:`WarmupCosine` schedule to match, so the learning rate still reaches its low end.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterable, Sequence

import keras
import numpy as np
from keras import ops

log = logging.getLogger(__name__)

TIMED_STEPS = 8  # steps timed after two warm-up steps
OVERHEAD = 1.05  # an epoch's steps take a little longer than the timed ones (input pipeline)
TOLERANCE = 1.05  # a run is re-planned when its epochs left would overrun the budget by more


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


def epochs_that_fit(
    budget_s: float, spent_s: float, epoch_s: float, done: int, planned: int
) -> int:
    """The epoch to end after: ``planned`` while the epochs left fit ``TOLERANCE`` x the budget
    at ``epoch_s`` each, else as many as still fit (``done``: none)."""
    room = TOLERANCE * budget_s - spent_s
    if (planned - done) * epoch_s <= room:
        return planned
    return done + max(0, int(room / epoch_s))


@keras.saving.register_keras_serializable(package="utils")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``start`` x ``peak`` over ``warmup_steps``, then cosine decay to
    ``alpha`` x ``peak`` at ``total_steps``, which :meth:`shorten` can bring forward during
    training. Written here because Keras' ``CosineDecay`` (the same curve) traces its length
    into the training step as a constant."""

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_steps: int = 0,
        alpha: float = 0.01,
        start: float = 0.1,
    ) -> None:
        self.peak, self.warmup_steps, self.alpha, self.start = peak, warmup_steps, alpha, start
        self.total_steps = keras.Variable(
            float(max(total_steps, warmup_steps + 1)), trainable=False, name="lr_total_steps"
        )

    def shorten(self, total_steps: int) -> None:
        """End the decay at ``total_steps`` (never later than now planned)."""
        end = max(min(float(total_steps), float(self.total_steps.numpy())), self.warmup_steps + 1)
        self.total_steps.assign(end)

    def __call__(self, step):  # noqa: ANN001, ANN204 - a step tensor in, a rate tensor out
        step = ops.cast(step, "float32")
        warm = float(self.warmup_steps)
        rising = self.peak * (self.start + (1 - self.start) * step / max(warm, 1.0))
        done = ops.clip((step - warm) / (ops.cast(self.total_steps, "float32") - warm), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * done))
        return ops.where(step < warm, rising, self.peak * (self.alpha + (1 - self.alpha) * cosine))

    def get_config(self) -> dict:
        """The constructor's arguments (the length as now planned)."""
        return {"peak": self.peak, "total_steps": int(self.total_steps.numpy()),
                "warmup_steps": self.warmup_steps, "alpha": self.alpha,
                "start": self.start}  # fmt: skip


class BudgetClock(keras.callbacks.Callback):
    """Training minutes (epoch start to validation start, summed; ``spent_minutes`` from before
    a resume) into each epoch's logs as ``train_minutes``. With ``budget_minutes``, from the
    second epoch of the fit on, when the epochs left would overrun it by more than ``TOLERANCE``
    at the pace measured so far, the run ends earlier and ``schedule`` (a :class:`WarmupCosine`)
    is shortened to end with it. The pace is the median epoch of the fit, its first left out
    (it includes tracing): one slow epoch (another job for a minute) does not cut the run, a
    lasting slowdown does within a few epochs."""

    def __init__(
        self,
        budget_minutes: float = 0.0,
        schedule: object = None,
        spent_minutes: float = 0.0,
    ) -> None:
        super().__init__()
        self.budget_s, self.schedule = budget_minutes * 60, schedule
        self.seconds, self.lap = spent_minutes * 60, 0.0
        self.laps: list[float] = []  # seconds of this fit's epochs after its first
        self._start: float | None = None
        self.stop_after = self._first = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stop_after, self._first, self.laps = self.params["epochs"], -1, []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        self._first = epoch if self._first < 0 else self._first

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self._start is not None:  # validation inside fit: the epoch's training is over
            self.lap = time.perf_counter() - self._start
            self.seconds += self.lap
            self._start = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.on_test_begin()  # no validation this epoch: its training ends here
        if logs is not None:
            logs["train_minutes"] = self.seconds / 60
        done = epoch + 1
        if epoch > self._first:
            self.laps.append(self.lap)
        if self.budget_s and self.laps and done < self.stop_after:
            pace = float(np.median(self.laps))
            fit = epochs_that_fit(self.budget_s, self.seconds, pace, done, self.stop_after)
            if fit < self.stop_after:
                log.warning(
                    "epochs now take %.1f min: %d of the %d planned fit the %.0f-minute budget",
                    pace / 60, fit, self.params["epochs"], self.budget_s / 60,
                )  # fmt: skip
                self.stop_after = fit
                if isinstance(self.schedule, WarmupCosine) and fit > done:
                    steps = self.params.get("steps") or self.model.optimizer.iterations // done
                    self.schedule.shorten(fit * int(steps))
        if done >= self.stop_after:
            self.model.stop_training = True
