"""What every notebook does first: quiet logs, seeds, figure style, and where the data is."""

from __future__ import annotations

import logging
import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

from utils import data, runio, synthetic

SYNTHETIC = "synthetic"  # DATA_DIR value that selects the embedded synthetic sample
DISTRIBUTION = "cityscapes-unet-notebooks"  # the package name in pyproject.toml
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
URL_LABELS = ("repository", "homepage")  # [project.urls] keys naming the repository, by preference


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
        return synthetic.ensure_sample(runio.synthetic_data_dir(run_dir), seed=seed, **sample_sizes)
    if data_dir == "kaggle":
        return data.download()
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: DATA_DIR is not a folder (or use 'synthetic')")
    return path


def _pick_url(urls: dict[str, str]) -> str | None:
    """The repository URL among ``label -> url`` pairs (labels compared by letters, any case)."""
    plain = {re.sub(r"[^a-z]", "", label.lower()): url.strip() for label, url in urls.items()}
    return next((plain[label] for label in URL_LABELS if plain.get(label)), None)


def repo_url() -> str:
    """The repository URL in ``[project.urls]``: from installed metadata, else pyproject.toml."""
    try:
        entries = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        entries = []
    pairs = (entry.partition(",") for entry in entries)  # "Repository, https://..."
    url = _pick_url({label: link for label, _, link in pairs})
    if url is None and PYPROJECT.is_file():
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8")).get("project", {})
        url = _pick_url(project.get("urls", {}))
    if url is None:
        raise LookupError(f"no repository URL in the {DISTRIBUTION} metadata or {PYPROJECT}")
    return url
