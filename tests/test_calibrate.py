"""Class biases fitted after training: the search, cross-fitting, every head, the model folder."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import write_image

from utils import calibrate, evaluate, labels, model, runio
from utils.colours import ColourMapping

SIZE = 32
CLASSES = ("road", "sky", "car", "vegetation")


def offset_logits(n: int = 6000, classes: int = 4, offset: float = 2.5, seed: int = 0):
    """(logits, labels): clear class evidence plus noise, with class 0 raised by ``offset``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    z = 3.0 * np.eye(classes, dtype=np.float32)[y] + rng.normal(0, 1, (n, classes))
    z[:, 0] += offset
    return z.astype(np.float32), y


def test_fit_biases_undoes_a_known_offset() -> None:
    z, y = offset_logits()
    before, _ = calibrate.mean_iou(y, z.argmax(1), 4)
    b = calibrate.fit_biases(z, y)
    after, _ = calibrate.mean_iou(y, (z + b).argmax(1), 4)
    assert after > before + 0.1
    assert -3.2 < b[0] - b[1:].mean() < -1.8  # the offset of 2.5, found back


def test_fit_biases_never_takes_a_class_below_its_floor() -> None:
    z, y = offset_logits(offset=0.0)
    z[:, 3] -= 1.0  # class 3 too rare in the predictions: raising it costs the others
    _, start = calibrate.mean_iou(y, z.argmax(1), 4)
    b = calibrate.fit_biases(z, y, floor=1.0)  # no class may lose anything
    _, end = calibrate.mean_iou(y, (z + b).argmax(1), 4)
    assert np.all(end >= start - 1e-9)
    assert end[3] > start[3]


def test_cross_fit_scores_each_group_with_the_others_biases() -> None:
    z, y = offset_logits()
    groups = np.repeat(["a", "b", "c"], len(y) // 3)
    out = calibrate.cross_fit(z, y, groups)
    np.testing.assert_array_equal(
        out["before"], evaluate.metrics.confusion_matrix(y, z.argmax(1), 4)
    )
    assert out["after"].sum() == out["before"].sum()
    assert np.trace(out["after"]) > np.trace(out["before"]) * 1.1


def test_file_groups_are_cities_or_contiguous_blocks() -> None:
    held_out = [Path(f"{i}.jpg") for i in (2617, 2711, 2712, 2853, 2854, 2975)]
    assert calibrate.file_groups(held_out) == ["ulm", "ulm", "weimar", "weimar", "zurich"] + [
        "zurich"
    ]
    plain = [Path(f"frame_{i}.png") for i in range(6)]
    assert calibrate.file_groups(plain) == ["block 1"] * 2 + ["block 2"] * 2 + ["block 3"] * 2


@pytest.mark.parametrize(
    ("variant", "architecture"),
    [("model1", {}), ("model2", {}), ("model2", {"head": "shuffle"})],
)
def test_class_biases_add_to_every_heads_logits(variant: str, architecture: dict) -> None:
    net = model.build_unet(5, (32, 64), variant, **architecture)
    photos = np.random.default_rng(0).random((2, 32, 64, 3)).astype(np.float32)
    before = np.asarray(net(photos, training=False))
    biases = np.array([0.5, -1.0, 0.0, 2.0, -0.25], np.float32)
    model.add_class_biases(net, biases)
    after = np.asarray(net(photos, training=False))
    np.testing.assert_allclose(after - before, np.broadcast_to(biases, after.shape), atol=1e-4)


def colour_model(car_bias: float) -> keras.Model:
    """Logits = -10 x squared distance to each class colour, with ``car_bias`` on car: photos in
    class colours are read right, except that car takes the road (3.2 closer to car's logit)."""
    k = labels.train_colours().astype(np.float32) / 255.0
    inputs = keras.Input((SIZE, SIZE, 3))
    conv = keras.layers.Conv2D(19, 1, name="logits")
    out = conv(inputs)
    bias = -(k * k).sum(1) * 10
    bias[labels.class_id("car")] += car_bias
    conv.set_weights([(2 * k.T * 10)[None, None], bias])
    return keras.Model(inputs, out)


def model_folder(net: keras.Model, folder: Path) -> Path:
    """A model folder as training leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    net.save(folder / model.MODEL_FILE)
    ColourMapping.palette().save(folder / model.MAPPING_FILE)
    config = {"variant": "model1", "input_size": [SIZE, SIZE], "num_classes": 19}
    runio.save_json(config, folder / model.CONFIG_FILE)
    return folder


def colour_pairs(folder: Path, n: int = 6) -> Path:
    """PNG pairs whose photo is its label image: 16 px blocks of the four classes."""
    rng = np.random.default_rng(0)
    for i in range(n):
        ids = rng.choice([labels.class_id(c) for c in CLASSES], (4, 4))
        label = labels.colourise(np.kron(ids, np.ones((16, 16), int)))
        write_image(folder / f"{i}.png", np.concatenate([label, label], axis=1))
    return folder


def test_calibrate_fixes_a_biased_model_and_load_trained_uses_it(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    folder = model_folder(colour_model(car_bias=3.4), tmp_path / "model")
    pairs = colour_pairs(tmp_path / "pairs")
    mapping = ColourMapping.palette()
    files = sorted(pairs.glob("*.png"))

    def score(calibrated: bool) -> float:
        net, _, _ = model.load_trained(folder, calibrated=calibrated)
        return evaluate.score_model(net, files, mapping, (SIZE, SIZE))["mean_iou"]

    before = score(True)  # no calibration yet
    assert calibrate.main(["--model", str(folder), "--data", str(pairs), "--tta", "none"]) == 0
    record = runio.load_json(folder / model.CALIBRATION_FILE)
    assert record["groups"] == ["block 1", "block 2", "block 3"]
    cross = record["cross_fitted"]
    assert cross["after"]["mean_iou"] > cross["before"]["mean_iou"] + 0.2
    assert record["class_biases"]["car"] < -0.2  # car gives the road back
    assert score(True) > before + 0.2 and score(False) == pytest.approx(before)
    assert "cross-fitted over block 1, block 2, block 3" in capsys.readouterr().out


def test_a_calibration_without_every_class_is_refused(tmp_path: Path) -> None:
    folder = model_folder(colour_model(car_bias=0.0), tmp_path / "model")
    runio.save_json({"class_biases": {"road": 0.1}}, folder / model.CALIBRATION_FILE)
    with pytest.raises(ValueError, match=r"calibration\.json: no class bias for sidewalk"):
        model.load_trained(folder)
