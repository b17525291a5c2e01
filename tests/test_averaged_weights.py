"""A moving average of the weights (``TrainConfig.ema``): validation, checkpoints and the
per-epoch callbacks see the average; training and the resume backup keep the weights."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from test_train import Interrupt, write_scenes

from utils import checks, history, model, train


class Seen(keras.callbacks.Callback):
    """The model's weights (and its validation loss on the data) at each epoch's end."""

    def __init__(self, x=None, y=None) -> None:  # noqa: ANN001
        super().__init__()
        self.x, self.y, self.weights, self.losses = x, y, [], []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.weights.append([w.copy() for w in self.model.get_weights()])
        if self.x is not None:
            self.losses.append(self.model.evaluate(self.x, self.y, verbose=0))


def fit(swapped: bool, epochs: int = 3):  # noqa: ANN201
    """A linear model fit by SGD with a moving average; ``swapped``: with ``AveragedWeights``
    (``Seen`` between it and its ``back()``, and after), else ``Seen`` alone."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    net.compile(keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), loss="mse")
    swap = history.AveragedWeights()
    inside, outside = Seen(x, y), Seen()
    callbacks = [swap, inside, swap.back(), outside] if swapped else [outside]
    logs = net.fit(
        x, y, validation_data=(x, y), epochs=epochs, batch_size=16, verbose=0,
        callbacks=callbacks, shuffle=False,
    )  # fmt: skip
    return net, inside, outside, logs.history


def test_callbacks_inside_see_the_average_and_training_keeps_the_weights() -> None:
    net, inside, outside, logs = fit(swapped=True)
    for avg, raw in zip(inside.weights, outside.weights, strict=True):
        assert not np.allclose(avg[0], raw[0])  # momentum 0.5 over steps of 0.1: they differ
    # Validation scored the weights the checkpoints saw (the average), not the trained ones.
    np.testing.assert_allclose(logs["val_loss"], inside.losses, rtol=1e-5)
    # Training went on from the weights, epoch after epoch, exactly as without any swapping.
    _, _, plain, _ = fit(swapped=False)
    for raw, alone in zip(outside.weights, plain.weights, strict=True):
        np.testing.assert_allclose(raw[0], alone[0], rtol=1e-6)
    # After fit, Keras leaves the average in the model (finalize_variable_values).
    np.testing.assert_allclose(net.get_weights()[0], inside.weights[-1][0], rtol=1e-6)


def test_ema_out_of_range_is_named() -> None:
    with pytest.raises(checks.ParameterError, match="ema"):
        train.TrainConfig(variant="model2", ema=1.0).check()
    with pytest.raises(checks.ParameterError, match="ema"):
        train.TrainConfig(variant="model2", ema=-0.5).check()


def test_averaged_run_saves_the_average_and_resumes_from_the_weights(tmp_path: Path) -> None:
    root = write_scenes(tmp_path / "data", 16, 4)
    cfg = train.TrainConfig(
        variant="model2", image_size=32, epochs=3, batch_size=8, ema=0.9,
        architecture={"widths": (8, 16)},
    )  # fmt: skip
    kw = dict(snapshot_dir=tmp_path / "snaps", verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train.train(root, tmp_path / "run", cfg, extra_callbacks=[Interrupt(3)], **kw)
    folder = tmp_path / "run" / "models" / "model2"
    saved = model.load_epoch(folder, 2).get_weights()
    backup = model.load_epoch(folder, 2)
    backup.load_weights(folder / "backup" / "latest.weights.h5", skip_mismatch=True)
    kernels = [i for i, w in enumerate(saved) if w.ndim == 4]
    # The epoch's file holds the average; the backup the weights training goes on from.
    assert any(not np.allclose(saved[i], backup.get_weights()[i]) for i in kernels)
    result = train.train(root, tmp_path / "run", cfg, **kw)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert result.config["training"]["ema"] == 0.9
