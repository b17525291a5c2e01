"""The run folder: atomic writes with ordinary permissions, JSON, and the folder layout."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from utils import runio


@pytest.fixture
def umask_022() -> Iterator[None]:
    """Run a test under umask 022 and put the previous umask back afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def leftovers(folder: Path) -> list[str]:
    """Temporary files the atomic writer may have left in ``folder`` (hidden ones included)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_writes_the_bytes_and_creates_folders(tmp_path: Path) -> None:
    path = runio.atomic_write_bytes(tmp_path / "a" / "b" / "file.bin", b"\x00payload\xff")
    assert path == tmp_path / "a" / "b" / "file.bin"
    assert path.read_bytes() == b"\x00payload\xff"
    runio.atomic_write_bytes(path, b"second")  # replaces an existing file
    assert path.read_bytes() == b"second"
    assert leftovers(path.parent) == []


@pytest.mark.usefixtures("umask_022")
def test_atomic_write_honours_the_umask(tmp_path: Path) -> None:
    assert runio.current_umask() == 0o022
    path = runio.atomic_write_bytes(tmp_path / "out.json", b"{}")
    assert path.stat().st_mode & 0o777 == 0o644  # as open(..., "w") makes it, not mkstemp's 0600
    os.umask(0o027)
    assert runio.current_umask() == 0o027
    assert runio.atomic_write_bytes(tmp_path / "group.json", b"{}").stat().st_mode & 0o777 == 0o640


def test_an_error_mid_write_leaves_no_temporary_file_and_the_old_file(tmp_path: Path) -> None:
    path = runio.atomic_write_bytes(tmp_path / "keep.txt", b"old")
    with pytest.raises(TypeError):
        runio.atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]  # fails in write
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_an_error_at_the_rename_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError("disk says no")

    path = runio.atomic_write_bytes(tmp_path / "old.txt", b"old")
    monkeypatch.setattr(runio.os, "replace", refuse)
    with pytest.raises(OSError, match="disk says no"):
        runio.atomic_write_bytes(path, b"data")  # replacing a file goes through a rename
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == b"old"


@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux only: O_TMPFILE")
def test_a_new_file_is_named_in_place_without_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise AssertionError(f"renamed {src}: a new file should need no rename")

    monkeypatch.setattr(runio.os, "replace", refuse)
    path = runio.atomic_write_bytes(tmp_path / "new.txt", b"data")
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == b"data"


def test_json_round_trips_numpy_values(tmp_path: Path) -> None:
    value = {
        "miou": np.float32(0.5),
        "count": np.int64(7),
        "flag": np.bool_(True),
        "ious": np.array([0.25, 0.75]),
        "path": tmp_path / "x",
        "nested": [{"n": np.uint8(3)}],
    }
    path = runio.save_json(value, tmp_path / "metrics" / "m.json")
    assert runio.load_json(path) == {
        "miou": 0.5,
        "count": 7,
        "flag": True,
        "ious": [0.25, 0.75],
        "path": str(tmp_path / "x"),
        "nested": [{"n": 3}],
    }
    assert json.loads(path.read_text())["count"] == 7  # plain JSON, readable by anything
    with pytest.raises(TypeError, match="object"):
        runio.save_json({"x": object()}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists() and leftovers(tmp_path) == []


def test_load_json_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.json: not found"):
        runio.load_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": ')
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        runio.load_json(broken)


def test_the_run_folder_layout(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert runio.mapping_path(run) == run / "mapping.json"
    assert runio.model_dir(run, "model1") == run / "models" / "model1"
    assert runio.metrics_path(run, "01_data_exploration") == run / "metrics" / (
        "01_data_exploration.json"
    )
    assert runio.figures_dir(run) == run / "figures"
    assert runio.executed_dir(run) == run / "executed"
    assert runio.synthetic_data_dir(run) == run / "synthetic_data"
    assert runio.model_dir(str(run), "model2") == run / "models" / "model2"  # str works too
    assert not run.exists()  # building a path creates nothing
