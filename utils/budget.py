"""Fitting a training run to a time budget on this machine: time a step, count the epochs.

The same recipe takes 2 minutes an epoch on one day's 2-core machine and 6 on another's, so a
fixed epoch count either wastes the budget or overruns it, and a cosine schedule cut short
never reaches its low learning rates. ``TrainConfig.train_minutes`` asks instead for as many
epochs as fit: :func:`step_seconds` times a few training steps of a throwaway copy of the model
on batches of the run's own training pipeline (its decoding and augmentation share the CPU
with the steps: timed on random data instead, model 2 came out at least 14 % fast and overran
a 33-minute budget by 3.6 minutes), and :func:`epochs_for` divides the budget by the epoch it
predicts. The budget counts training steps; validation, scoring and figures come on top.

That plan rests on a few seconds of timing, and this machine changes speed within minutes
(epochs of the same model went from 2.4 to 3.5 minutes within one run; plans timed ten minutes
apart said 13-15 and 16-18 epochs). :class:`BudgetClock` measures every epoch's training time,
logs the running total (``train_minutes`` in ``history.csv``) and re-plans from the pace of the
epochs themselves. While at most half the planned epochs are done (of the full-size ones, when
the first epochs train on smaller photos: ``utils.progressive``), the run is re-planned to as
many epochs as fit the budget (the count that ends nearest it, within :data:`TOLERANCE`), fewer
or more (up to ``TrainConfig.budget_stretch`` x the plan);
later, only when the epochs left would overrun the budget by more than :data:`TOLERANCE`, to
fewer (one slow stretch late in a run should not bend its nearly finished schedule), or, once
the pace is back, to more again, up to the longest plan the run had (a slow spell that cut the
plan does not leave the rest of the budget unused when the machine speeds up). Either way
the :class:`WarmupCosine` schedule is re-fitted to end with the run, so the learning rate still
reaches its low end.
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
DECAY_SHAPES = ("cosine", "linear")  # WarmupCosine's decay after the warm-up
STRETCH = 1.5  # by default a run may grow to this many times its planned epochs (faster machine)


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


def epochs_ceiling(planned: int, stretch: float = STRETCH) -> int:
    """The most epochs a run planned for ``planned`` may grow to (``stretch`` 1: no more)."""
    return max(planned, math.ceil(planned * stretch))


def epochs_that_fit(
    budget_s: float,
    spent_s: float,
    epoch_s: float,
    done: int,
    planned: int,
    most: int = 0,
    longest: int = 0,
) -> int:
    """The epoch to end after, at ``epoch_s`` per epoch from now. Early in a run (``most``
    given): as many as fit the budget, up to ``most``. Later: while the epochs left fit
    ``TOLERANCE`` x the budget, ``planned``, or as many as fit the budget up to ``longest`` (a
    longer plan the run was cut from); else as many as fit the budget (``done``: none).

    "As many as fit" is the count whose end falls nearest the budget, never past ``TOLERANCE``
    x the budget: rounding down alone would end runs half an epoch early on average (on a CPU
    without AVX-512 an epoch of the default is 14 % of its 33-minute budget, and one run ended
    4.7 minutes early), while later re-plans already let a run end up to ``TOLERANCE`` over."""
    nearest = math.floor((budget_s - spent_s) / epoch_s + 0.5)
    fit = done + max(0, min(nearest, int((TOLERANCE * budget_s - spent_s) / epoch_s)))
    if most:
        return min(fit, most)
    if (planned - done) * epoch_s <= TOLERANCE * budget_s - spent_s:
        return max(planned, min(fit, longest))
    return min(fit, planned)


@keras.saving.register_keras_serializable(package="utils")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``start`` x ``peak`` over ``warmup_steps``, then cosine decay to
    ``alpha`` x ``peak`` at ``total_steps``, which :meth:`refit` can move during training
    (``shape="linear"``: a straight line down instead, which spends fewer steps near either end).
    Written here because Keras' ``CosineDecay`` (the same curve) traces its length into the
    training step as a constant."""

    def __init__(
        self,
        peak: float,
        total_steps: int,
        warmup_steps: int = 0,
        alpha: float = 0.01,
        start: float = 0.1,
        shape: str = "cosine",
    ) -> None:
        if shape not in DECAY_SHAPES:
            raise ValueError(f"shape must be one of {DECAY_SHAPES}, got {shape!r}")
        self.peak, self.warmup_steps, self.alpha, self.start = peak, warmup_steps, alpha, start
        self.shape = shape
        self.total_steps = keras.Variable(
            float(max(total_steps, warmup_steps + 1)), trainable=False, name="lr_total_steps"
        )

    def refit(self, total_steps: int) -> None:
        """End the decay at ``total_steps`` from now on (after the warm-up at the earliest)."""
        self.total_steps.assign(float(max(total_steps, self.warmup_steps + 1)))

    def __call__(self, step):  # noqa: ANN001, ANN204 - a step tensor in, a rate tensor out
        step = ops.cast(step, "float32")
        warm = float(self.warmup_steps)
        rising = self.peak * (self.start + (1 - self.start) * step / max(warm, 1.0))
        done = ops.clip((step - warm) / (ops.cast(self.total_steps, "float32") - warm), 0.0, 1.0)
        left = 1.0 - done if self.shape == "linear" else 0.5 * (1.0 + ops.cos(math.pi * done))
        return ops.where(step < warm, rising, self.peak * (self.alpha + (1 - self.alpha) * left))

    def get_config(self) -> dict:
        """The constructor's arguments (the length as now planned)."""
        return {"peak": self.peak, "total_steps": int(self.total_steps.numpy()),
                "warmup_steps": self.warmup_steps, "alpha": self.alpha,
                "start": self.start, "shape": self.shape}  # fmt: skip


class BudgetClock(keras.callbacks.Callback):
    """Training minutes (epoch start to validation start, summed; ``spent_minutes`` from before
    a resume) into each epoch's logs as ``train_minutes``, and the epochs the run now ends after
    as ``epochs_planned``.

    With ``budget_minutes``, the fit is given up to ``epochs_ceiling(planned, stretch)`` epochs
    and this clock ends it after ``planned`` (``planned``: the plan of ``utils.budget``, or the
    last ``epochs_planned`` of a resumed run), re-planned from the second epoch of the fit on at
    the pace measured so far (:func:`epochs_that_fit`): while at most half the planned epochs
    are done (half the full-size ones after ``early`` epochs on small photos, whose pace is
    known only from the full-size phase on), to as many as fit the budget (up to the ceiling);
    later, shorter only when the epochs left would overrun the budget by more than
    ``TOLERANCE``, and longer again (up to the longest plan so far) when they fit the budget.
    ``schedule`` (a :class:`WarmupCosine`) is re-fitted to end with the run
    (``steps`` per epoch). The pace is the median epoch of the fit, its first left out (it
    includes tracing), and so are the ``early`` epochs on small photos (``utils.progressive``:
    the full-size phase is its own fit, timed from its second epoch): one slow epoch (another
    job for a minute) does not cut the run, a lasting slowdown does within a few epochs."""

    def __init__(
        self,
        budget_minutes: float = 0.0,
        schedule: object = None,
        spent_minutes: float = 0.0,
        planned: int = 0,
        steps: int = 0,
        early: int = 0,
    ) -> None:
        super().__init__()
        self.budget_s, self.schedule, self.planned = budget_minutes * 60, schedule, planned
        self.steps = steps  # per epoch; 0: the fit's own count
        self.early = early  # epochs on small photos (utils.progressive): not the pace
        self.seconds, self.lap = spent_minutes * 60, 0.0
        self.laps: list[float] = []  # seconds of this fit's epochs after its first
        self._start: float | None = None
        self.stop_after = self._first = self.longest = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stop_after, self._first, self.laps = self.planned or self.params["epochs"], -1, []
        self.longest = max(self.longest, self.stop_after)
        if self.planned:  # the schedule ends with the plan (a resumed run's, too)
            self._refit_schedule(self.planned)

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
        done = epoch + 1
        if epoch > self._first and epoch >= self.early:
            self.laps.append(self.lap)
        if self.budget_s and self.laps and done < self.stop_after:
            pace = float(np.median(self.laps))
            early = min(self.early, done)  # the half counts full-size epochs only
            most = self.params["epochs"] if 2 * (done - early) <= self.stop_after - early else 0
            fit = epochs_that_fit(
                self.budget_s, self.seconds, pace, done, self.stop_after, most, self.longest
            )
            if fit != self.stop_after:
                log.warning(
                    "epochs now take %.1f min: %d epochs instead of %d fit the %.0f-minute budget",
                    pace / 60, fit, self.stop_after, self.budget_s / 60,
                )  # fmt: skip
                self.stop_after, self.longest = fit, max(self.longest, fit)
                if fit > done:
                    self._refit_schedule(fit)
        if logs is not None:
            logs["train_minutes"] = self.seconds / 60
            logs["epochs_planned"] = self.stop_after
        if done >= self.stop_after:
            self.model.stop_training = True

    def _refit_schedule(self, epochs: int) -> None:
        """End a :class:`WarmupCosine` ``schedule`` after ``epochs`` epochs of the fit's steps."""
        steps = self.steps or self.params.get("steps")
        if isinstance(self.schedule, WarmupCosine) and steps:
            self.schedule.refit(epochs * int(steps))
