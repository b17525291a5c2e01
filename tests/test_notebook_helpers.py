"""What every notebook calls first: seeding, finding the data, the repository URL."""

from __future__ import annotations

import random
import tomllib
from email.message import Message
from importlib import metadata
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from conftest import ROOT

from utils import notebook, runio


def draws() -> tuple:
    """One draw from each seeded generator: Python, NumPy and TensorFlow."""
    import tensorflow as tf

    return random.random(), float(np.random.rand()), float(tf.random.uniform(()).numpy())


def test_setup_seeds_every_generator_reproducibly() -> None:
    with matplotlib.rc_context():  # setup sets the figure style; keep it out of other tests
        notebook.setup(seed=7)
        first = draws()
        notebook.setup(seed=7)
        again = draws()
        notebook.setup(seed=8)
        other = draws()
        assert matplotlib.rcParams["image.interpolation"] == "nearest"
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_resolve_data_returns_an_existing_folder(tmp_path: Path) -> None:
    assert notebook.resolve_data(str(tmp_path), tmp_path / "run") == tmp_path


def test_resolve_data_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere: DATA_DIR is not a folder"):
        notebook.resolve_data(str(tmp_path / "nowhere"), tmp_path / "run")
    afile = tmp_path / "file.txt"
    afile.write_text("not a folder")
    with pytest.raises(FileNotFoundError, match="file.txt: DATA_DIR is not a folder"):
        notebook.resolve_data(str(afile), tmp_path / "run")


def test_resolve_data_generates_the_synthetic_sample_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    folder = notebook.resolve_data(notebook.SYNTHETIC, run, seed=0, n_train=2, n_val=1)
    assert folder == runio.synthetic_data_dir(run)
    assert len(list((folder / "train").glob("*.jpg"))) == 2
    assert len(list((folder / "val").glob("*.jpg"))) == 1
    stamp = (folder / "train" / "1.jpg").stat().st_mtime_ns
    again = notebook.resolve_data(notebook.SYNTHETIC, run, seed=0, n_train=2, n_val=1)
    assert again == folder and (folder / "train" / "1.jpg").stat().st_mtime_ns == stamp


def pyproject_url() -> str:
    """The repository URL as pyproject.toml states it."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def test_repo_url_is_the_pyproject_url() -> None:
    assert notebook.repo_url() == pyproject_url()


def test_repo_url_falls_back_to_pyproject_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(notebook.metadata, "metadata", missing)
    assert notebook.repo_url() == pyproject_url()
    monkeypatch.setattr(notebook, "PYPROJECT", ROOT / "no-such-pyproject.toml")
    with pytest.raises(LookupError, match="no repository URL"):
        notebook.repo_url()


def test_repo_url_reads_the_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    meta = Message()
    meta["Project-URL"] = "Documentation, https://example.org/docs"
    meta["Project-URL"] = "Repository, https://example.org/repo"
    monkeypatch.setattr(notebook.metadata, "metadata", lambda name: meta)
    assert notebook.repo_url() == "https://example.org/repo"
