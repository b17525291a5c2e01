"""What every notebook does first: quiet logs, seeds, figure style, and where the data is."""

from __future__ import annotations

import logging
import os
from pathlib import Path

SYNTHETIC = "synthetic"  # DATA_DIR value that selects the embedded synthetic sample


def setup(seed: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow, quiet TF's C++ logs and set a readable figure style."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import keras
    import matplotlib.pyplot as plt

    keras.utils.set_random_seed(seed)
    plt.rcParams.update({"figure.dpi": 90, "axes.grid": False, "image.interpolation": "nearest"})


def resolve_data(data_dir: str, run_dir: str | os.PathLike, seed: int = 0, **sample_sizes) -> Path:
    """The dataset folder: ``data_dir`` itself, or for ``"synthetic"`` the generated sample.

    The synthetic sample lives in ``<run_dir>/synthetic_data`` and is generated once (sizes
    ``n_train``/``n_val`` default to the generator's); the Kaggle download is ``"kaggle"``.
    """
    if data_dir == SYNTHETIC:
        from utils import synthetic

        return synthetic.ensure_sample(Path(run_dir) / "synthetic_data", seed=seed, **sample_sizes)
    if data_dir == "kaggle":
        from utils import data

        return data.download()
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: DATA_DIR is not a folder (or use 'synthetic')")
    return path
