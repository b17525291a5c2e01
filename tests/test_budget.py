"""Time budgets: epochs fitted to a measured step time; a resumed run keeps its count."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import budget, devices, losses, model, runio, train


@pytest.fixture
def clock_now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake ``perf_counter`` for ``utils.budget``: the seconds in ``clock_now[0]``, moved on
    only by the test (so timing tests hold on a loaded machine)."""
    now = [0.0]
    monkeypatch.setattr(budget.time, "perf_counter", lambda: now[0])
    return now


def test_epochs_for_divides_the_budget() -> None:
    # 10 minutes, 1 s steps, 100 steps an epoch: 600 s / (1.05 x 100 s) = 5.7 -> 5 epochs
    assert budget.epochs_for(10, 1.0, 100) == 5
    assert budget.epochs_for(20, 1.0, 100) == 11
    assert budget.epochs_for(0.01, 1.0, 100) == 1  # never zero epochs


def test_step_seconds_times_a_compiled_model() -> None:
    cfg = train.TrainConfig(image_size=32, batch_size=2, architecture={"widths": (8,)})
    net = model.build_unet(3, cfg.size, widths=(8,), bridge=8)
    train.compile_model(net, cfg, 3, None, 10)
    assert 0 < budget.step_seconds(net, 2, (32, 32), 3, steps=2) < 60


def test_step_seconds_counts_the_input_pipeline(clock_now: list[float]) -> None:
    """Timed on the run's own batches, a slow input pipeline makes the step slower (on a fake
    clock that only the pipeline moves, 0.2 s a batch: the step itself costs nothing there, so
    the test holds on a loaded machine)."""
    cfg = train.TrainConfig(image_size=32, batch_size=2, architecture={"widths": (8,)})
    net = model.build_unet(3, cfg.size, widths=(8,), bridge=8)
    train.compile_model(net, cfg, 3, None, 10)
    x = np.zeros((2, 32, 32, 3), np.float32)
    y = np.zeros((2, 32, 32), np.uint8)
    now, served = clock_now, []

    def slow_pipeline():  # noqa: ANN202
        while True:
            now[0] += 0.2
            served.append(1)
            yield x, y

    fast = budget.step_seconds(net, 2, (32, 32), 3, steps=2)
    slow = budget.step_seconds(net, 2, (32, 32), 3, steps=2, batches=slow_pipeline())
    assert len(served) == 4  # two warm-up steps and two timed ones, all from the pipeline
    assert fast == 0 and slow == pytest.approx(0.2)  # the timed ones' batches, not the warm-up's


def test_fit_to_budget(tmp_path: Path) -> None:
    splits = SimpleNamespace(train=[Path(f"{i}.jpg") for i in range(40)])
    cfg = train.TrainConfig(
        image_size=32, batch_size=4, train_minutes=0.5, architecture={"widths": (8,), "bridge": 8}
    ).check()
    fitted = train.fit_to_budget(cfg, splits, 3, devices.choose_strategy())
    assert fitted.epochs >= 1 and fitted.train_minutes == 0.5
    # 10 steps an epoch of a tiny model take well under a second: many epochs fit 30 s
    assert fitted.epochs > 3
    runio.save_json({"training": {"epochs": 7}}, tmp_path / model.CONFIG_FILE)
    resumed = train.fit_to_budget(cfg, splits, 3, devices.choose_strategy(), tmp_path)
    assert resumed.epochs == 7  # the count the interrupted run started with
    one_batch = tf.data.Dataset.from_tensors(
        (np.zeros((4, 32, 32, 3), np.float32), np.zeros((4, 32, 32), np.uint8))
    )  # fewer batches than are timed: the dataset is repeated
    on_data = train.fit_to_budget(cfg, splits, 3, devices.choose_strategy(), batches=one_batch)
    assert on_data.epochs > 3


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="train_minutes"):
        train.TrainConfig(train_minutes=-1).check()


@pytest.mark.parametrize("warmup", [0, 7])
def test_warmup_cosine_is_keras_cosine_decay(warmup: int) -> None:
    """The budget's schedule draws the curve Keras' CosineDecay drew for the recipe before."""
    ours = budget.WarmupCosine(4e-3, 100, warmup)
    keras_own = keras.optimizers.schedules.CosineDecay(
        4e-4 if warmup else 4e-3, 100 - warmup, alpha=0.01,
        warmup_target=4e-3 if warmup else None, warmup_steps=warmup,
    )  # fmt: skip
    steps = [0, 1, 3, 7, 8, 30, 50, 99, 100, 140]
    np.testing.assert_allclose(
        [float(ours(s)) for s in steps], [float(keras_own(s)) for s in steps], rtol=1e-5
    )


def test_warmup_cosine_refits_its_length() -> None:
    sched = budget.WarmupCosine(1e-3, 100, 10)
    sched.refit(60)
    assert float(sched(60)) == pytest.approx(1e-5)  # the low end reached at the new length
    assert float(sched(35)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))  # half-way down
    sched.refit(130)
    assert float(sched(70)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))  # longer: half-way later
    assert float(sched(130)) == pytest.approx(1e-5)
    sched.refit(5)
    assert sched.get_config()["total_steps"] == 11  # never inside the warm-up
    sched.refit(60)
    again = budget.WarmupCosine.from_config(sched.get_config())
    assert again.get_config()["total_steps"] == 60
    optimizer = keras.optimizers.Adam(sched)  # saved with a model: its config is plain numbers
    assert json.dumps(keras.optimizers.serialize(optimizer))


def test_linear_decay_falls_in_a_straight_line_and_refits() -> None:
    """``shape="linear"``: from the peak after the warm-up straight down to 1 % at the end, a
    quarter of the way down a quarter of the way in (cosine is still at 85 % there)."""
    sched = budget.WarmupCosine(1e-3, 110, 10, shape="linear")
    assert float(sched(10)) == pytest.approx(1e-3)
    assert float(sched(35)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.75))
    assert float(sched(60)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))
    assert float(sched(110)) == pytest.approx(1e-5)
    assert float(budget.WarmupCosine(1e-3, 110, 10)(35)) > float(sched(35)) + 1e-4
    sched.refit(60)
    assert float(sched(35)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))
    again = budget.WarmupCosine.from_config(sched.get_config())
    assert float(again(35)) == pytest.approx(float(sched(35)))
    cfg = train.TrainConfig(schedule="linear", learning_rate=1e-3, epochs=10, warmup_epochs=1)
    assert cfg.learning_rate_schedule(11).get_config()["shape"] == "linear"
    with pytest.raises(ValueError, match="shape must be one of .*got 'step'"):
        budget.WarmupCosine(1e-3, 10, shape="step")


def test_epochs_that_fit() -> None:
    # 100 s budget (105 with the tolerance), 40 spent, epochs of 10 s: 6 more fit
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=10) == 10
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=11) == 10
    assert budget.epochs_that_fit(100, 40, 20, done=4, planned=10) == 7  # slower: 3 more
    assert budget.epochs_that_fit(100, 100, 20, done=4, planned=10) == 4  # none: stop now
    # faster than planned: longer only early in the run (``most``), and never past ``most``
    assert budget.epochs_that_fit(100, 20, 5, done=4, planned=10) == 10
    assert budget.epochs_that_fit(100, 20, 5, done=4, planned=10, most=15) == 15
    assert budget.epochs_that_fit(100, 20, 5, done=4, planned=10, most=30) == 20
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=10, most=15) == 10  # as planned
    # early (``most`` given) the plan is fitted to the budget itself: the count that ends nearest
    # it (5.8 epochs of 10.4 s are left: 6, ending at 102 s; 5.5 of 11 s: 5, at 95 s), but never
    # past the tolerance (2.5 epochs of 40 s: 2, since 3 would end at 120 s; 4.5 of 13.2 s: 4,
    # since 5 would end at 106 s); later, within it
    assert budget.epochs_that_fit(100, 40, 10.4, done=4, planned=8, most=15) == 10
    assert budget.epochs_that_fit(100, 40, 11, done=4, planned=10, most=15) == 9
    assert budget.epochs_that_fit(100, 0, 40, done=0, planned=5, most=10) == 2
    assert budget.epochs_that_fit(100, 40, 13.2, done=4, planned=10, most=15) == 8
    assert budget.epochs_that_fit(100, 40, 10.4, done=4, planned=10) == 10
    # later, back up towards a longer plan the run was cut from (``longest``), never past it
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=8) == 8
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=8, longest=12) == 10
    assert budget.epochs_that_fit(100, 40, 10, done=4, planned=8, longest=9) == 9


def test_epochs_ceiling() -> None:
    assert budget.epochs_ceiling(10) == 15
    assert budget.epochs_ceiling(15, 1.5) == 23
    assert budget.epochs_ceiling(10, 1.0) == 10  # never past the plan


class Slow(keras.callbacks.Callback):
    """Every training step moves a fake clock on by ``seconds``: a machine slower than it was
    timed, and one whose tracing and load cost nothing, so the test cannot be timed out."""

    def __init__(self, seconds: float, now: list[float]) -> None:
        super().__init__()
        self.seconds, self.now = seconds, now

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.now[0] += self.seconds


def test_budget_clock_ends_a_slowed_run_within_budget_with_the_schedule_annealed(
    clock_now: list[float],
) -> None:
    now = clock_now
    x = np.zeros((16, 16, 16, 3), np.float32)
    y = np.zeros((16, 16, 16), np.uint8)
    net = model.build_unet(3, (16, 16), widths=(4,), bridge=4)
    sched = budget.WarmupCosine(1e-3, 4 * 30, warmup_steps=2)  # 30 epochs of 4 steps planned
    net.compile(optimizer=keras.optimizers.Adam(sched), loss=losses.SegmentationLoss(3))
    clock = budget.BudgetClock(budget_minutes=0.15, schedule=sched)  # 9 s; epochs take 1 s
    logs = keras.callbacks.History()
    net.fit(x, y, batch_size=4, epochs=30, verbose=0, callbacks=[Slow(0.25, now), clock, logs])
    minutes = logs.history["train_minutes"]
    # 9 epochs of 1 s fit 9 s (the tolerance of 5 % does not buy a tenth)
    assert minutes == pytest.approx([e / 60 for e in range(1, 10)])
    # the decay was shortened to the epochs that ran: the last step ran at the low end
    assert float(sched(net.optimizer.iterations - 1)) < 0.05 * 1e-3
    assert sched.get_config()["total_steps"] == 4 * len(minutes)


def test_budget_clock_rides_out_one_slow_epoch_but_not_a_lasting_slowdown(
    clock_now: list[float],
) -> None:
    """The pace is the median epoch: one slow epoch keeps the plan, slow epochs from then on
    cut it (driven by a fake clock: 9 epochs of 60 s planned in a 10-minute budget)."""

    def run(epoch_seconds: list[float]) -> int:
        return drive_clock(clock_now, epoch_seconds, planned=9, ceiling=9)

    assert run([60.0] * 9) == 9
    assert run([70.0, 60.0, 60.0, 110.0] + [60.0] * 5) == 9  # tracing, then one slow epoch
    lasting = run([60.0, 60.0, 60.0] + [110.0] * 6)  # almost twice as slow from epoch 4 on
    assert lasting < 9
    assert 60 * 3 + 110 * (lasting - 3) <= budget.TOLERANCE * 600  # and it kept the budget


def test_budget_clock_gives_back_the_epochs_a_slow_spell_cut(clock_now: list[float]) -> None:
    """30 epochs of 20 s planned in 10 minutes; epochs 5-10 take 40 s (another job, a slow
    host), which cuts the plan to 17 at that pace. When the epochs are back at 20 s, the run is
    lengthened again as the pace recovers: 24 epochs, the budget used (it ended after 17 and
    7.7 minutes when a cut plan could not grow back), never past the first plan."""
    ran = drive_clock(clock_now, [20.0] * 4 + [40.0] * 6 + [20.0] * 30, planned=30, ceiling=30)
    assert ran == 24
    assert 4 * 20 + 6 * 40 + (ran - 10) * 20 <= 600  # the budget kept
    again = drive_clock(clock_now, [20.0] * 4 + [40.0] * 6 + [20.0] * 30, planned=12, ceiling=12)
    assert again == 12  # no cut, nothing to give back: never past the plan


def drive_clock(
    now: list[float], epoch_seconds: list[float], planned: int, ceiling: int, early: int = 0
) -> int:  # fmt: skip
    """Epochs a 10-minute BudgetClock lets run (planned ``planned``, fit given ``ceiling``) when
    they take ``epoch_seconds`` on a fake clock; its schedule is checked to end with the run.
    With ``early``, the first ``early`` epochs are a fit of their own (progressive resizing's
    small photos: ``utils.progressive.fit_phases``)."""
    now[0] = 0.0
    sched = budget.WarmupCosine(1e-3, 5 * planned, warmup_steps=2)
    clock = budget.BudgetClock(
        budget_minutes=10, schedule=sched, planned=planned, steps=5, early=early
    )
    clock.set_model(SimpleNamespace(stop_training=False))
    clock.set_params({"epochs": early or ceiling, "steps": 5})
    clock.on_train_begin()
    ran = len(epoch_seconds)
    for epoch, seconds in enumerate(epoch_seconds):
        if early and epoch == early:  # the full-size phase: a second fit, up to the ceiling
            clock.set_params({"epochs": ceiling, "steps": 5})
            clock.on_train_begin()
        clock.on_epoch_begin(epoch)
        now[0] += seconds
        logs: dict = {}
        clock.on_epoch_end(epoch, logs)
        if clock.model.stop_training:
            ran = epoch + 1
            break
    assert logs["epochs_planned"] == ran
    assert sched.get_config()["total_steps"] == 5 * ran
    return ran


def test_budget_clock_lengthens_a_faster_run_early_only(clock_now: list[float]) -> None:
    """10 epochs of 60 s planned in 10 minutes, the fit given up to 15: epochs of 40 or 50 s
    from the start stretch the run to what fits the budget (up to the ceiling); epochs that
    speed up only after the schedule's first half keep the plan."""
    faster = drive_clock(clock_now, [40.0] * 20, planned=10, ceiling=15)
    assert faster == 15 and 15 * 40 <= 600
    some = drive_clock(clock_now, [50.0] * 20, planned=10, ceiling=15)
    assert some == 12 and 12 * 50 <= 600  # as many as fit
    late = drive_clock(clock_now, [60.0] * 6 + [30.0] * 14, planned=10, ceiling=15)
    assert late == 10


def test_budget_clock_lengthens_a_progressive_run_in_its_full_size_half(
    clock_now: list[float],
) -> None:
    """Progressive resizing: 10 epochs planned in 10 minutes, the first 4 on small photos
    (30 s each), the 6 full-size ones at 80 s. Their pace is known from the second full-size
    epoch on, after 6 of the 10: still within the first half of the full-size epochs, so faster
    ones (50 s) lengthen the run to the count that ends nearest the budget within the
    tolerance (it kept the plan of 10 when the half counted every epoch, leaving 3 of the 10
    minutes unused); ones that speed up only in the second half of the full-size epochs keep the
    plan, slower ones shorten it."""
    faster = drive_clock(clock_now, [30.0] * 4 + [50.0] * 16, planned=10, ceiling=15, early=4)
    assert faster == 14 and 4 * 30 + 10 * 50 == 620 <= budget.TOLERANCE * 600  # not 13: 570
    late = drive_clock(
        clock_now, [30.0] * 4 + [80.0] * 4 + [40.0] * 12, planned=10, ceiling=15, early=4
    )
    assert late == 10
    slower = drive_clock(clock_now, [30.0] * 4 + [100.0] * 16, planned=10, ceiling=15, early=4)
    assert slower == 9 and 4 * 30 + 5 * 100 <= budget.TOLERANCE * 600  # within the tolerance
