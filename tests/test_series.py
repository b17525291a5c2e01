"""The headless runner: order, selection, parameters, and failures that name the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from utils import series


def _notebook(path: Path, *sources: str, params: str = 'DATA_DIR = ""\nRUN_DIR = ""') -> Path:
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, *(new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(data: Path, out: Path, nbdir: Path, *extra: str) -> int:
    """The runner's command line on a folder of test notebooks."""
    argv = ["--data", str(data), "--out", str(out), "--notebooks", str(nbdir), *extra]
    return series.main(argv)


WRITE = "import json, pathlib\npathlib.Path(RUN_DIR, '{name}.json').write_text(json.dumps({value}))"


def test_select_and_parse() -> None:
    nbs = [Path(f"{n}_x.ipynb") for n in ("01", "02", "03", "04")]
    assert [p.name[:2] for p in series.select(nbs, only=["3", "01"])] == ["01", "03"]
    assert [p.name[:2] for p in series.select(nbs, start="02")] == ["02", "03", "04"]
    with pytest.raises(ValueError, match="no notebook numbered '09'"):
        series.select(nbs, only=["09"])
    assert series.parse_parameter("EPOCHS=3") == ("EPOCHS", 3)
    assert series.parse_parameter("DATA_DIR=/x/y") == ("DATA_DIR", "/x/y")
    assert series.parse_parameter("AUGMENT=False") == ("AUGMENT", False)
    assert series.parse_parameter("K_RANGE=4,13,19") == ("K_RANGE", "4,13,19")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        series.parse_parameter("EPOCHS")


@pytest.mark.slow
def test_runs_in_order_with_declared_parameters(tmp_path: Path) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(
        nbdir / "01_a.ipynb",
        WRITE.format(name="a", value="[DATA_DIR, EPOCHS]"),
        params='DATA_DIR = ""\nRUN_DIR = ""\nEPOCHS = 1',
    )
    _notebook(nbdir / "02_b.ipynb", WRITE.format(name="b", value="'ran'"))
    out = tmp_path / "run"
    code = _run(tmp_path, out, nbdir, "--kernel", "python3", "-p", "EPOCHS=5")
    assert code == 0
    assert json.loads((out / "a.json").read_text()) == [str(tmp_path.resolve()), 5]
    assert json.loads((out / "b.json").read_text()) == "ran"
    assert (out / "executed" / "02_b.ipynb").is_file()
    assert [r["notebook"] for r in json.loads((out / "series.json").read_text())] == [
        "01_a.ipynb",
        "02_b.ipynb",
    ]


@pytest.mark.slow
def test_failure_names_notebook_and_stops(tmp_path: Path, capsys) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "01_ok.ipynb", "x = 1")
    _notebook(nbdir / "02_broken.ipynb", "y = 2", "raise RuntimeError('boom in cell')")
    _notebook(nbdir / "03_after.ipynb", WRITE.format(name="after", value="1"))
    out = tmp_path / "run"
    code = _run(tmp_path, out, nbdir, "--kernel", "python3")
    err = capsys.readouterr().err
    assert code == 1
    assert "02_broken.ipynb failed in cell" in err and "boom in cell" in err
    assert not (out / "after.json").exists()  # stopped at the first failure


@pytest.mark.slow
def test_unknown_parameter_is_refused(tmp_path: Path, capsys) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "01_a.ipynb", "x = 1")
    code = _run(tmp_path, tmp_path / "run", nbdir, "-p", "EPOCS=3")
    assert code == 1
    assert "EPOCS" in capsys.readouterr().err
