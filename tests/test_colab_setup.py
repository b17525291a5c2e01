"""The notebooks' Colab set-up cell, run as Colab would with shell and pip calls recorded."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from IPython.core.inputtransformer2 import TransformerManager

from utils import notebook, series

PROJECT = "/content/cityscapes-unet-notebooks"


def setup_cells() -> dict[str, str]:
    """The first code cell of every notebook, by notebook name."""
    cells = {}
    for path in series.list_notebooks():
        nb = nbformat.read(path, as_version=4)
        cells[path.name] = next(c.source for c in nb.cells if c.cell_type == "code")
    return cells


class Shell:
    """Stands in for Colab's IPython: records ``!`` commands and line magics."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def system(self, command: str) -> None:
        """Record the command with ``{name}`` filled in from the caller, as IPython does."""
        caller = sys._getframe(1)
        self.calls.append(command.format(**{**caller.f_globals, **caller.f_locals}))

    def run_line_magic(self, name: str, line: str) -> None:
        self.calls.append(f"%{name} {line}")


def run_setup_cell(
    monkeypatch: pytest.MonkeyPatch, versions: dict[str, str], cloned: bool = False
) -> tuple[Shell, list[list[str]], list[str]]:
    """Execute the set-up cell on a simulated Colab; (shell, pip commands, folders entered)."""
    shell, pip_runs, entered = Shell(), [], []
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(notebook, "installed_version", versions.get)
    monkeypatch.setattr(notebook, "pip_install", pip_runs.append)
    monkeypatch.setattr(os, "chdir", entered.append)
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: cloned if p == PROJECT else real_isdir(p))
    code = TransformerManager().transform_cell(setup_cells()["03_unet_training.ipynb"])
    exec(compile(code, "setup-cell", "exec"), {"get_ipython": lambda: shell, "__name__": "nb"})
    assert sys.path[0] == PROJECT
    return shell, pip_runs, entered


def colab_versions(**changes: str | None) -> dict[str, str]:
    """Installed versions as on a Colab runtime: every requirement in range, the project not."""
    versions = {
        "tensorflow": "2.19.0",
        "keras": "3.8.0",
        "numpy": "2.0.2",
        "matplotlib": "3.10.0",
        "pillow": "11.1.0",
        "opencv-python-headless": "4.11.0.86",
        "scikit-learn": "1.6.1",
        "jupyterlab": "4.4.0",
        "ipykernel": "6.17.1",
        "tqdm": "4.67.1",
        "kagglehub": "0.3.12",
        "ipywidgets": "7.7.1",  # Colab's own widgets: older than the range
        "tensorboard": "2.19.0",
    }
    versions.update(changes)
    return {k: v for k, v in versions.items() if v is not None}


def test_every_notebook_has_the_same_setup_cell() -> None:
    cells = setup_cells()
    assert len(set(cells.values())) == 1, "set-up cells differ: " + ", ".join(cells)


def test_setup_keeps_colabs_tensorflow_and_installs_only_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shell, pip_runs, entered = run_setup_cell(monkeypatch, colab_versions())
    assert len(shell.calls) == 1 and shell.calls[0].startswith("git clone -q https://github.com/")
    assert shell.calls[0].endswith(PROJECT)
    assert entered == [f"{PROJECT}/notebooks"]
    editable, extra = pip_runs
    assert editable == ["--no-deps", "-e", str(ROOT)]
    constraints = Path(extra[extra.index("-c") + 1]).read_text().split()
    installs = extra[extra.index("-c") + 2 :]
    assert "tensorflow==2.19.0" in constraints and "keras==3.8.0" in constraints
    assert not any(s.startswith(("tensorflow", "keras", "numpy")) for s in installs)
    assert "ipywidgets==7.7.1" in constraints  # Colab's front-end packages stay as they are
    assert {s.split(">")[0] for s in installs} == {"papermill"}


def test_setup_replaces_a_tensorflow_outside_the_tested_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, pip_runs, _ = run_setup_cell(monkeypatch, colab_versions(tensorflow="2.15.1"))
    installs = pip_runs[1][pip_runs[1].index("-c") + 2 :]
    assert any(s.startswith("tensorflow>=") for s in installs)


def test_setup_run_again_installs_nothing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    versions = colab_versions(papermill="2.6.0")
    versions[notebook.DISTRIBUTION] = "0.1.0"
    shell, pip_runs, _ = run_setup_cell(monkeypatch, versions, cloned=True)
    assert shell.calls == [] and pip_runs == []
    assert "all its requirements are installed" in capsys.readouterr().out


def test_setup_does_nothing_off_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = Shell()
    code = TransformerManager().transform_cell(setup_cells()["01_data_exploration.ipynb"])
    exec(compile(code, "setup-cell", "exec"), {"get_ipython": lambda: shell, "__name__": "nb"})
    assert shell.calls == []


@pytest.mark.parametrize("name", ["03_unet_training.ipynb", "05_bottleneck_tsne.ipynb"])
def test_training_and_embedding_notebooks_ask_colab_for_a_gpu(name: str) -> None:
    meta = nbformat.read(ROOT / "notebooks" / name, as_version=4).metadata
    assert meta["accelerator"] == "GPU" and meta["colab"]["gpuType"] == "T4"
    assert meta["kernelspec"]["name"] == "python3"
