"""The headless runner: order, selection, parameters, and failures that name the notebook."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nbformat
import pytest
from conftest import make_pair, write_image
from nbformat.v4 import new_code_cell, new_notebook

from utils import series
from utils.console import Console


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


def _pairs(folder: Path) -> Path:
    """A plain folder of two pair files: a ``--data`` the runner accepts."""
    for name in ("1.png", "2.png"):
        write_image(folder / name, make_pair())
    return folder


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
    data = _pairs(tmp_path / "data")
    code = _run(data, out, nbdir, "--kernel", "python3", "-p", "EPOCHS=5")
    assert code == 0
    assert json.loads((out / "a.json").read_text()) == [str(data.resolve()), 5]
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
    code = _run(_pairs(tmp_path / "data"), out, nbdir, "--kernel", "python3")
    err = capsys.readouterr().err
    assert code == 1
    assert "02_broken.ipynb failed in cell" in err and "boom in cell" in err
    assert not (out / "after.json").exists()  # stopped at the first failure


@pytest.mark.slow
def test_unknown_parameter_is_refused(tmp_path: Path, capsys) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "01_a.ipynb", "x = 1")
    code = _run(_pairs(tmp_path / "data"), tmp_path / "run", nbdir, "-p", "EPOCS=3")
    assert code == 1
    assert "EPOCS" in capsys.readouterr().err


def _record(text: str, level: int = logging.INFO, func: str = "log_output_message"):  # noqa: ANN202
    record = logging.LogRecord("papermill", level, __file__, 1, text, None, None, func=func)
    return record


def test_console_shows_cells_epochs_and_warnings_without_progress_bars(capsys) -> None:
    console = Console(["", "EPOCHS = 2", "", "train.train(...)"])
    for record in (
        _record("Executing Cell 2---------", func="cell_start"),
        _record("Executing Cell 3---------", func="cell_start"),  # markdown / injected: no line
        _record("Executing Cell 4---------", func="cell_start"),
        _record("<IPython.core.display.Markdown object>"),  # a display's text, no newline
        _record("Epoch 1/2\n"),
        _record("\r\x1b[1m1/4\x1b[0m ━━ 1s - loss: 3.1"),
        _record("\x08\x08\x08\r4/4 ━━━━ 2s - loss: 2.5 - val_loss: 2.6 - val_mean_iou: 0.41\n"),
        _record(
            "INFO utils.data: 32\nWARNING utils.data: skipping 1 bad files:\n/d/7.jpg: x\n",
            logging.WARNING,
        ),  # fmt: skip
        _record("scanning: 50%|##  | 1/2\rscanning: 100%|####| 2/2\n", logging.WARNING),
    ):
        console.emit(record)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "   cell 2/4: EPOCHS = 2",
        "   cell 4/4: train.train(...)",
        "     epoch 1/2: loss 2.5, val_loss 2.6, val_mean_iou 0.41",
        "     WARNING utils.data: skipping 1 bad files:",
        "     /d/7.jpg: x",
    ]
    assert "\r" not in out


@pytest.mark.slow
def test_kernel_start_up_lines_stay_in_the_kernel_log(tmp_path: Path, capfd) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    noise = "import os\nos.write(2, b'I0000 cudart_stub.cc:31] Could not find cuda drivers\\n')"
    warn = (
        "import logging\nlogging.basicConfig(format='%(levelname)s %(name)s: %(message)s')\n"
        "logging.getLogger('utils.x').warning('a real warning')"
    )  # the project's log format (notebook.setup)
    _notebook(nbdir / "01_a.ipynb", noise, warn)
    out = tmp_path / "run"
    assert _run(_pairs(tmp_path / "data"), out, nbdir, "--kernel", "python3") == 0
    console = capfd.readouterr()
    assert "cudart" not in console.out + console.err and "IPKernelApp" not in console.err
    assert "a real warning" in console.out  # the project's warnings still show
    kernel_log = (out / "executed" / "01_a.kernel.log").read_text()
    assert "Could not find cuda drivers" in kernel_log
    assert "without encryption" not in kernel_log  # IPC transport, not TCP
    assert sorted(p.name for p in nbdir.iterdir()) == ["01_a.ipynb"]  # no socket files left
    outputs = [o for c in nbformat.read(out / "executed" / "01_a.ipynb", 4).cells
               for o in c.get("outputs", [])]  # fmt: skip
    assert not any("cudart" in o.get("text", "") for o in outputs)
    assert any("a real warning" in o.get("text", "") for o in outputs)


def test_waves_run_04_to_06_side_by_side_after_03() -> None:
    names = [p.name[:2] for p in series.list_notebooks()]
    assert names == ["01", "02", "03", "04", "05", "06"]
    by_number = {p.name[:2]: p for p in series.list_notebooks()}

    def numbers(*chosen: str) -> list[list[str]]:
        nbs = [by_number[n] for n in chosen]
        return [[p.name[:2] for p in wave] for wave in series.waves(nbs)]

    assert numbers(*names) == [["01"], ["02"], ["03"], ["04", "05", "06"]]
    assert numbers("05", "06") == [["05", "06"]]  # 03 ran earlier: nothing to wait for
    assert numbers("03", "05") == [["03"], ["05"]]
    assert numbers("02", "04", "06") == [["02"], ["04", "06"]]  # 04 waits for the one before


STAMP = (
    "import json, pathlib, time\nstart = time.time()\ntime.sleep(2)\n"
    "pathlib.Path(RUN_DIR, '{name}.json').write_text(json.dumps([start, time.time()]))"
)


@pytest.mark.slow
def test_independent_notebooks_run_side_by_side_with_tagged_lines(tmp_path: Path, capfd) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "01_a.ipynb", "x = 1")
    _notebook(nbdir / "02_b.ipynb", STAMP.format(name="b"))
    _notebook(nbdir / "03_c.ipynb", STAMP.format(name="c"))  # needs 01 only, as declared below
    out = tmp_path / "run"
    nbs = series.list_notebooks(nbdir)
    series.run_series(str(_pairs(tmp_path / "data")), out, nbs, kernel="python3", jobs=2,
                      needs={"03": "01"})  # fmt: skip
    (b0, b1), (c0, c1) = (json.loads((out / f"{n}.json").read_text()) for n in "bc")
    assert b0 < c1 and c0 < b1  # their cells ran at the same time
    lines = capfd.readouterr().out.splitlines()
    assert "[02] == 02_b.ipynb" in "\n".join(lines) and "[03] == 03_c.ipynb" in "\n".join(lines)
    assert any(ln.startswith("[03]    cell 3/3: import json") for ln in lines), lines
    assert [r["notebook"] for r in json.loads((out / "series.json").read_text())] == [
        "01_a.ipynb", "02_b.ipynb", "03_c.ipynb",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_failure_side_by_side_lets_the_other_finish_and_stops_the_rest(tmp_path: Path) -> None:
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "01_a.ipynb", "x = 1")
    _notebook(nbdir / "02_broken.ipynb", "raise RuntimeError('boom beside another')")
    _notebook(nbdir / "03_c.ipynb", STAMP.format(name="c"))
    _notebook(nbdir / "04_after.ipynb", WRITE.format(name="after", value="1"))
    out = tmp_path / "run"
    nbs = series.list_notebooks(nbdir)
    with pytest.raises(series.NotebookFailed, match="02_broken.ipynb failed in cell .*boom"):
        series.run_series(str(_pairs(tmp_path / "data")), out, nbs, kernel="python3", jobs=2,
                          needs={"03": "01"})  # fmt: skip
    assert (out / "c.json").is_file()  # the notebook beside it finished
    assert not (out / "after.json").exists()  # nothing after the failure started
    assert [r["notebook"] for r in json.loads((out / "series.json").read_text())] == ["01_a.ipynb"]
