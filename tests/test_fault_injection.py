"""Fault injection: processes killed with SIGKILL mid-run lose nothing and leave no partial file.

* training killed in the middle of an epoch resumes at the next epoch and finishes;
* predict and evaluate killed mid-run leave only complete output files, no temporary ones;
* an atomic write killed mid-write leaves the old file or the new one, never a piece
  (a new file: nothing else at all).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from conftest import ROOT
from test_predict_evaluate import _save_folder, block_pairs, colour_model
from test_train import Recorder, write_scenes

from utils import history, runio, train

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
TESTS = str(Path(__file__).parent)


def start(log: Path, *args: str) -> subprocess.Popen:
    """A Python child process (the project and the tests importable), its output to ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, *args], env=ENV, stdout=out, stderr=out)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 300) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ends or times out first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (status {proc.returncode}) before the kill")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out waiting for the moment to kill")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


def visible_and_hidden(folder: Path) -> tuple[list[str], list[str]]:
    """File names under ``folder`` (recursively): ordinary ones and hidden/temporary ones."""
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    hidden = [n for n in names if Path(n).name.startswith(".") or n.endswith(".tmp")]
    return sorted(set(names) - set(hidden)), hidden


# --------------------------------------------------------------------------- training
STALL_IN_EPOCH_2 = textwrap.dedent(
    """
    import pathlib, sys, time
    import keras
    sys.path.insert(0, sys.argv[1])
    from test_fault_injection import tiny_config
    from utils import train

    class Stall(keras.callbacks.Callback):
        "After the first batch of epoch 2: say so, then wait to be killed."
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 0:
                pathlib.Path(sys.argv[3], "mid-epoch-2").write_text("now")
                time.sleep(600)

    root, run = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    train.train(root / "data", run, tiny_config(), snapshot_dir=run / "snaps", verbose=0,
                extra_callbacks=[Stall()])
    """
)


def tiny_config() -> train.TrainConfig:
    """Model 1 with two small encoder blocks, 3 epochs of 2 batches at 32x32."""
    return train.TrainConfig(
        image_size=32, epochs=3, batch_size=8, architecture={"widths": (8, 16)}, stop_patience=3
    )


@pytest.mark.slow
def test_training_killed_mid_epoch_resumes_at_the_next_epoch(tmp_path: Path) -> None:
    write_scenes(tmp_path / "data", 16, 4)
    run = tmp_path / "run"
    run.mkdir()
    proc = start(tmp_path / "log", "-c", STALL_IN_EPOCH_2, TESTS, str(tmp_path), str(run))
    kill_when(proc, (run / "mid-epoch-2").is_file)
    folder = run / "models" / "model1"
    assert history.backup_epoch(folder / "backup") == 1  # epoch 1 finished and backed up
    assert [r["epoch"] for r in history.load_history(folder)] == [1]
    seen = Recorder()
    cfg = tiny_config()
    result = train.train(
        tmp_path / "data", run, cfg, snapshot_dir=run / "snaps", verbose=0, extra_callbacks=[seen]
    )
    assert seen.epochs == [2, 3]  # resumed at the next epoch, not from scratch
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert sorted(p.name for p in (folder / "epochs").iterdir()) == [
        f"epoch_{e:03d}.weights.h5" for e in (1, 2, 3)
    ]
    assert 0 <= result.val_scores["mean_iou"] <= 1


# --------------------------------------------------------------------------- predict, evaluate
@pytest.fixture(scope="module")
def perfect(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model folder of the colour model at 64x64, folder of 300 small pairs)."""
    base = tmp_path_factory.mktemp("killed")
    pairs = block_pairs(base / "pairs", 300, first=1)
    return _save_folder(colour_model(64), base / "model", input_size=64), pairs


def test_predict_killed_mid_run_leaves_only_complete_files(perfect, tmp_path: Path) -> None:  # noqa: ANN001
    model_dir, pairs = perfect
    out = tmp_path / "out"
    proc = start(tmp_path / "log", "-m", "utils.predict", "--model", str(model_dir),
                 "--input", str(pairs), "--out", str(out), "--overlay")  # fmt: skip
    kill_when(proc, lambda: out.is_dir() and len(list(out.glob("*.png"))) >= 5)
    files, hidden = visible_and_hidden(out)
    assert hidden == []  # no temporary file left behind, not even a hidden one
    assert 5 <= len([f for f in files if "/" not in f]) < 300  # killed mid-run
    for name in files:
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape == (64, 64, 3), name  # complete PNGs only


def test_evaluate_killed_mid_run_leaves_no_partial_file(perfect, tmp_path: Path) -> None:  # noqa: ANN001
    model_dir, pairs = perfect
    out = tmp_path / "eval"
    log = tmp_path / "log"
    proc = start(log, "-m", "utils.evaluate", "--model", str(model_dir), "--data", str(pairs),
                 "--out", str(out), "--batch-size", "2")  # fmt: skip
    scoring: list[float] = []

    def mid_evaluation() -> bool:  # half a second into the scoring of 150 batches
        if not scoring and b"scoring 300 files" in log.read_bytes():
            scoring.append(time.monotonic())
        return bool(scoring) and time.monotonic() - scoring[0] > 0.5

    kill_when(proc, mid_evaluation)
    files, hidden = visible_and_hidden(out) if out.exists() else ([], [])
    assert hidden == []
    if "evaluation.json" in files:  # only if it finished writing: then it is whole
        assert json.loads((out / "evaluation.json").read_text())["files"] == 300


# --------------------------------------------------------------------------- atomic writes
REWRITE = textwrap.dedent(
    """
    import sys
    from utils import runio
    n = 0
    while True:
        runio.atomic_write_bytes(sys.argv[1], bytes([65 + n % 2]) * 20_000_000)
        n += 1
    """
)


def test_an_atomic_write_killed_mid_write_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    proc = start(tmp_path.parent / f"{tmp_path.name}.log", "-c", REWRITE, str(path))
    started = time.monotonic()
    kill_when(proc, lambda: path.is_file() and time.monotonic() - started > 2)  # mid-rewrite
    names = sorted(p.name for p in tmp_path.iterdir())
    # A kill in the microseconds between naming the temporary file and the rename leaves it,
    # whole; a kill anywhere else leaves none.
    assert names[-1] == "big.bin" and len(names) <= 2, names
    for name in names:
        payload = (tmp_path / name).read_bytes()
        assert len(payload) == 20_000_000 and len(set(payload)) == 1, name  # one whole write
    assert runio.load_json(runio.save_json({"ok": 1}, tmp_path / "after.json")) == {"ok": 1}
