"""Time budgets: epochs fitted to a measured step time; a resumed run keeps its count."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from utils import budget, devices, model, runio, train


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


def test_step_seconds_counts_the_input_pipeline() -> None:
    """Timed on the run's own batches, a slow input pipeline makes the step slower."""
    cfg = train.TrainConfig(image_size=32, batch_size=2, architecture={"widths": (8,)})
    net = model.build_unet(3, cfg.size, widths=(8,), bridge=8)
    train.compile_model(net, cfg, 3, None, 10)
    x = np.zeros((2, 32, 32, 3), np.float32)
    y = np.zeros((2, 32, 32), np.uint8)
    served = []

    def slow_pipeline():  # noqa: ANN202
        while True:
            time.sleep(0.2)
            served.append(1)
            yield x, y

    fast = budget.step_seconds(net, 2, (32, 32), 3, steps=2)
    slow = budget.step_seconds(net, 2, (32, 32), 3, steps=2, batches=slow_pipeline())
    assert len(served) == 4  # two warm-up steps and two timed ones, all from the pipeline
    assert slow > fast + 0.15


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
