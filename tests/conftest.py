"""Shared fixtures: a tiny synthetic sample, the real data (or a skip), tiny pair files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

if TYPE_CHECKING:
    import keras

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "agg")

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "data" / "cityscapes_pairs"


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same random state (Python, NumPy and Keras weights), so a
    result never depends on which worker ran which test before it."""
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def tiny_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 train and 8 val synthetic pairs in the Kaggle layout (generated once per session)."""
    from utils import synthetic

    folder = tmp_path_factory.mktemp("tiny") / "sample"
    return synthetic.generate(folder, n_train=24, n_val=8, seed=0, progress=False)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real Cityscapes pairs beside the project, or a skip saying why."""
    path = Path(os.environ.get("CITYSCAPES_DATA", REAL_DATA))
    if not (path / "train").is_dir():
        pytest.skip(f"real data not found at {path} (set CITYSCAPES_DATA to run this test)")
    return path


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write an RGB (or grey) uint8 array as an image file; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = image[..., ::-1] if image.ndim == 3 and image.shape[2] == 3 else image
    assert cv2.imwrite(str(path), np.ascontiguousarray(out))
    return path


def make_pair(photo_value: int = 120, label_colour=(128, 64, 128), size: int = 32) -> np.ndarray:
    """A pair image: flat photo half and flat label half."""
    photo = np.full((size, size, 3), photo_value, np.uint8)
    label = np.broadcast_to(np.array(label_colour, np.uint8), (size, size, 3))
    return np.concatenate([photo, label], axis=1)


def tiny_unet(num_classes: int = 3, size: int = 32) -> keras.Model:
    """A small functional model with the layer names of utils.model (bottleneck at 1/4)."""
    import keras
    from keras import layers

    inp = keras.Input((size, size, 3))
    e1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="encoder_1")(inp)
    e2 = layers.Conv2D(8, 3, padding="same", activation="relu", name="encoder_2")(
        layers.MaxPooling2D()(e1)
    )
    b = layers.Conv2D(16, 3, padding="same", activation="relu", name="bottleneck")(
        layers.MaxPooling2D()(e2)
    )
    up = layers.UpSampling2D(4, interpolation="bilinear")(b)
    d1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="decoder_1")(
        layers.Concatenate()([up, e1])
    )
    return keras.Model(inp, layers.Conv2D(num_classes, 1, name="logits")(d1))
