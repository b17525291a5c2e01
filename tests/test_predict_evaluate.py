"""Prediction CLI (colour PNGs at the photo size) and evaluation CLI (a perfect model scores 1)."""

from __future__ import annotations

from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from conftest import write_image

from utils import evaluate, labels, model, predict, runio
from utils.colours import ColourMapping

SIZE = 32
CLASSES = ("road", "sky", "car", "vegetation")


def _save_folder(net: keras.Model, folder: Path, input_size: int = SIZE, width: int = 0) -> Path:
    """A model folder as training leaves it (model.keras, config.json, mapping.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    net.save(folder / model.MODEL_FILE)
    ColourMapping.palette().save(folder / model.MAPPING_FILE)
    size = [input_size, width or input_size]
    config = {"variant": "model1", "input_size": size, "num_classes": 19}
    runio.save_json(config, folder / model.CONFIG_FILE)
    return folder


def colour_model(size: int = SIZE, width: int = 0) -> keras.Model:
    """A 'perfect' model for photos painted in class colours: logits = -distance to each colour."""
    k = labels.train_colours().astype(np.float32) / 255.0  # (19, 3)
    inputs = keras.Input((size, width or size, 3))
    conv = keras.layers.Conv2D(19, 1, name="logits")
    out = conv(inputs)
    # -|x - k|^2 = 2 x.k - |k|^2 - |x|^2; the last term is the same for every class.
    conv.set_weights([(2 * k.T * 100)[None, None], -(k * k).sum(1) * 100])
    return keras.Model(inputs, out)


def blocks(rng: np.random.Generator, size: int = 64, block: int = 16) -> np.ndarray:
    """A label image of flat class-colour blocks aligned so that resizing keeps them exact."""
    ids = rng.choice([labels.class_id(c) for c in CLASSES], (size // block, size // block))
    return labels.colourise(np.kron(ids, np.ones((block, block), int)))


def block_pairs(folder: Path, n: int, first: int = 0) -> Path:
    """``n`` PNG pairs whose photo is its label image (block colours), named first.png, ..."""
    rng = np.random.default_rng(0)
    for i in range(first, first + n):
        label = blocks(rng)
        write_image(folder / f"{i}.png", np.concatenate([label, label], axis=1))
    return folder


@pytest.fixture(scope="module")
def perfect(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model folder of the colour model, folder of PNG pairs whose photo = label colours)."""
    base = tmp_path_factory.mktemp("perfect")
    return _save_folder(colour_model(), base / "model"), block_pairs(base / "pairs", 5)


def test_perfect_prediction_scores_one(perfect, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    _, pairs = perfect
    # At the labels' own size (64) the colour model is exact; at 32 the upsampled logits blur
    # the block edges (see test_inference for native vs input-size scoring).
    folder = _save_folder(colour_model(64), tmp_path / "model64", input_size=64)
    assert (
        evaluate.main(["--model", str(folder), "--data", str(pairs), "--out", str(tmp_path)]) == 0
    )
    result = runio.load_json(tmp_path / "evaluation.json")
    assert result["files"] == 5 and result["pixels"] == 5 * 64 * 64  # labels' native size
    assert result["at_input_size"]["pixels"] == 5 * 64 * 64
    assert result["pixel_accuracy"] == result["mean_iou"] == result["mean_class_accuracy"] == 1.0
    assert {k for k, v in result["per_class_iou"].items() if v is not None} == set(CLASSES)
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 10_000
    assert "mean IoU             1.0000" in capsys.readouterr().out


def test_wide_input_is_scored_at_the_labels_size(perfect, tmp_path: Path) -> None:  # noqa: ANN001
    """A model that reads photos 32 high and 64 wide (the street's proportions) is scored at
    the labels' own 64 x 64, and its predictions are written at the photos' size."""
    _, pairs = perfect
    folder = _save_folder(colour_model(32, 64), tmp_path / "wide", input_size=32, width=64)
    result = evaluate.evaluate(folder, sorted(pairs.iterdir()), tmp_path / "o")
    assert result["pixels"] == 5 * 64 * 64 and result["at_input_size"]["pixels"] == 5 * 32 * 64
    assert result["at_input_size"]["pixel_accuracy"] == 1.0  # 16 px blocks stay exact at 32 x 64
    assert result["pixel_accuracy"] > 0.95  # only the rows at block edges are upsampled
    assert (
        predict.main(["--model", str(folder), "--input", str(pairs), "--out", str(tmp_path)]) == 0
    )
    assert cv2.imread(str(tmp_path / "0.png")).shape[:2] == (64, 64)
    # multiscale: the model saved for 32 x 64 runs at 32 x 96 too; the same sizes come out
    ms = evaluate.evaluate(folder, sorted(pairs.iterdir()), tmp_path / "ms", tta="multiscale")
    assert ms["tta"] == "multiscale" and ms["pixels"] == 5 * 64 * 64
    assert ms["at_input_size"]["pixels"] == 5 * 32 * 64 and ms["pixel_accuracy"] > 0.95
    args = ["--model", str(folder), "--input", str(pairs), "--out", str(tmp_path / "p")]
    assert predict.main([*args, "--tta", "multiscale"]) == 0
    assert cv2.imread(str(tmp_path / "p" / "0.png")).shape[:2] == (64, 64)


def test_evaluate_uses_the_validation_split(perfect, tmp_path: Path) -> None:  # noqa: ANN001
    folder, pairs = perfect
    for split, n in (("train", 3), ("val", 2)):
        for f in sorted(pairs.iterdir())[:n]:
            (tmp_path / "data" / split).mkdir(parents=True, exist_ok=True)
            (tmp_path / "data" / split / f.name).write_bytes(f.read_bytes())
    assert len(evaluate.dataset_files(tmp_path / "data")) == 2
    assert len(evaluate.dataset_files(tmp_path / "data", "all")) == 5
    result = evaluate.evaluate(folder, evaluate.dataset_files(tmp_path / "data"), tmp_path / "o")
    assert result["files"] == 2 and result["at_input_size"]["mean_iou"] == 1.0


def _colours_of(path: Path) -> set[tuple[int, ...]]:
    image = cv2.imread(str(path))[..., ::-1]
    return {tuple(c) for c in np.unique(image.reshape(-1, 3), axis=0)}


def test_predict_pairs_and_photos_at_input_size(perfect, tmp_path: Path) -> None:  # noqa: ANN001
    folder, pairs = perfect
    rng = np.random.default_rng(1)
    inputs = tmp_path / "in"
    # A pair file, a plain photo of an odd size, and a 2:1 plain photo (not a pair).
    label = blocks(rng, size=128, block=32)
    write_image(inputs / "pair.png", np.concatenate([label, label], axis=1))
    write_image(inputs / "odd.jpg", cv2.resize(blocks(rng), (150, 97), interpolation=0))
    wide = rng.integers(0, 256, (60, 120, 3), dtype=np.uint8)
    write_image(inputs / "wide.png", wide)
    out = tmp_path / "out"
    args = ["--model", str(folder), "--input", str(inputs), "--out", str(out), "--overlay"]
    assert predict.main(args) == 0
    palette = {tuple(int(v) for v in c) for c in labels.train_colours()}
    expected = {"pair.png": (128, 128), "odd.png": (97, 150), "wide.png": (60, 120)}
    for name, shape in expected.items():
        image = cv2.imread(str(out / name))
        assert image.shape[:2] == shape, name
        assert _colours_of(out / name) <= palette, name  # only class colours, no blending
        assert cv2.imread(str(out / "overlay" / name)).shape[:2] == shape
    # The colour model reproduces the pair's label half (but at block borders, upsampled).
    same = (cv2.imread(str(out / "pair.png"))[..., ::-1] == label).all(axis=2)
    assert same.mean() > 0.95
    # A single file works too.
    assert (
        predict.main(
            [
                "--model",
                str(folder),
                "--input",
                str(inputs / "odd.jpg"),
                "--out",
                str(tmp_path / "one"),
            ]
        )
        == 0
    )
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["odd.png"]


def test_pair_detection_and_errors(perfect, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    mapping = ColourMapping.palette()
    rng = np.random.default_rng(2)
    label = blocks(rng)
    photo = rng.integers(0, 256, label.shape, dtype=np.uint8)
    assert predict.photo_of(np.concatenate([photo, label], 1), mapping).shape == photo.shape
    assert predict.photo_of(np.concatenate([photo, photo], 1), mapping).shape == (64, 128, 3)
    forced = predict.photo_of(np.concatenate([photo, photo], 1), mapping, kind="pair")
    assert forced.shape == photo.shape
    folder, pairs = perfect
    code = predict.main(
        ["--model", str(tmp_path / "none"), "--input", str(pairs), "--out", str(tmp_path / "o")]
    )
    assert code == 1 and "none: model folder" in capsys.readouterr().err
    code = predict.main(
        ["--model", str(folder), "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )
    assert code == 1 and "missing: input not found" in capsys.readouterr().err
