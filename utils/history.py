"""Training records: per-epoch callbacks, history files, snapshots and resuming.

A model folder (``RUN_DIR/models/<variant>/``, see ``utils.runio``) holds ``history.csv`` and
``history.json`` (one row per epoch, rewritten atomically after every epoch), the resume backup
(``backup/``, Keras ``BackupAndRestore``) and TensorBoard logs; per-epoch snapshot figures
(photo | truth | prediction of fixed validation images) go to ``semantic_output/`` (model 1) or
``Semantic_out_2/`` (model 2) at the repository root.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from keras import ops

from utils import data, model, progressive, runio, viz
from utils.colours import ColourMapping
from utils.viz import training as viz_training

log = logging.getLogger(__name__)

MONITOR = "val_mean_iou"
SNAPSHOT_PATTERNS = {"model1": "output_{epoch}_epo.png", "model2": "output_{epoch}_model_2.png"}
SNAPSHOT_DIRS = {"model1": "semantic_output", "model2": "Semantic_out_2"}  # under the repo root
REPO_ROOT = Path(__file__).resolve().parent.parent


class EpochSnapshot(keras.callbacks.Callback):
    """After every epoch: photo | truth | prediction of fixed validation images, to a PNG."""

    def __init__(
        self,
        photos: np.ndarray,
        truths: np.ndarray,
        folder: str | os.PathLike,
        pattern: str,
        mapping: ColourMapping,
        label: str,
    ) -> None:
        super().__init__()
        self.photos, self.truths = photos, truths
        self.folder, self.pattern = Path(folder), pattern
        self.mapping, self.label = mapping, label

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Draw and save ``pattern.format(epoch=epoch + 1)``."""
        logs = logs or {}
        preds = np.argmax(ops.convert_to_numpy(self.model(self.photos, training=False)), -1)
        title = snapshot_title(self.label, epoch + 1, logs, self.photos.shape[1:3])
        fig = viz_training.prediction_rows(
            self.photos, self.truths, preds, self.mapping, title, pyplot=False
        )
        viz.save_png(fig, self.folder / self.pattern.format(epoch=epoch + 1))


def small_epochs(config: dict) -> int:
    """How many epochs a trained model's run spent on small photos (``utils.progressive``), from
    its ``config.json`` (``model.load_config``, or ``TrainResult.config``)."""
    training = config.get("training", {})
    return progressive.early_epochs(training.get("early_share", 0.0), training.get("epochs", 0))


def snapshot_title(label: str, epoch: int, logs: dict, size: Sequence[int]) -> str:
    """A per-epoch figure's title: the training loss and the validation scores Keras measured at
    the input ``size`` (not at the labels' native resolution, as ``utils.evaluate`` scores)."""
    parts = [f"loss {logs['loss']:.3f}"] if "loss" in logs else []
    names = (("val_pixel_accuracy", "pixel accuracy"), (MONITOR, "mIoU"))
    scores = [f"{name} {logs[key]:.3f}" for key, name in names if key in logs]
    if scores:
        parts.append(f"validation at {size[0]}x{size[1]}: " + ", ".join(scores))
    return f"{label}, epoch {epoch}: " + "; ".join(parts)


def snapshot_samples(
    val_files: Sequence[Path],
    mapping: ColourMapping,
    size: Sequence[int],
    n: int = 4,
    check: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fixed validation images (evenly spaced over the split) at ``size`` as NumPy
    (photos, ids): what :class:`EpochSnapshot` draws."""
    n = min(n, len(val_files))
    picks = [val_files[i] for i in np.linspace(0, len(val_files) - 1, n).round().astype(int)]
    ds = data.make_dataset(
        picks, size, label_mapper=mapping.tf_apply, batch_size=n, cache=False, check=check
    )
    photos, ids = next(iter(ds))
    return photos.numpy(), ids.numpy()


class HistoryWriter(keras.callbacks.Callback):
    """history.csv and history.json, rewritten atomically after every epoch (with the LR)."""

    def __init__(self, folder: str | os.PathLike, previous: Sequence[dict] = ()) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.rows = list(previous)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Append the epoch's logs and rewrite both files."""
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
        write_history(self.rows, self.folder)


def write_history(rows: Sequence[dict], folder: str | os.PathLike) -> None:
    """Rows of per-epoch numbers -> ``history.json`` and ``history.csv`` (atomic writes)."""
    folder = Path(folder)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = [",".join(keys)] + [",".join(f"{r.get(k, '')}" for k in keys) for r in rows]
    runio.atomic_write_bytes(folder / "history.csv", ("\n".join(lines) + "\n").encode())
    runio.save_json(list(rows), folder / "history.json")


def load_history(model_dir: str | os.PathLike, missing_ok: bool = False) -> list[dict]:
    """The per-epoch rows of a model folder's ``history.json`` ([] if missing and allowed)."""
    path = Path(model_dir) / "history.json"
    if missing_ok and not path.is_file():
        return []
    return runio.load_json(Path(model.model_dir_of(model_dir)) / "history.json")


def history_columns(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Rows -> {column: array} (missing values NaN), handy for plotting."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=float) for k in keys}


def training_callbacks(
    model_dir: Path,
    previous: Sequence[dict],
    *,
    stop_patience: int,
    lr_patience: int | None = None,
    extra: Sequence[keras.callbacks.Callback] = (),
) -> list[keras.callbacks.Callback]:
    """Checkpoints (best + every epoch), LR and stopping rules, logs, ``extra``, then the backup.

    ``lr_patience``: halve the learning rate after that many epochs without progress (None: no).
    On a resumed run the best-model checkpoint starts from the best mIoU of the earlier epochs.
    """
    best_so_far = max((r.get(MONITOR, -1.0) for r in previous), default=None)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            model_dir / model.MODEL_FILE,
            monitor=MONITOR,
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.ModelCheckpoint(
            str(model_dir / model.EPOCHS_DIR / model.EPOCH_WEIGHTS), save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(MONITOR, mode="max", patience=stop_patience),
        *tensorboard_callback(model_dir / "tensorboard"),
        HistoryWriter(model_dir, previous),
        *extra,
        # last: after the epoch is saved; kept between the phases of a run (utils.progressive)
        keras.callbacks.BackupAndRestore(model_dir / "backup", delete_checkpoint=False),
    ]
    if lr_patience is not None:
        callbacks.insert(
            1,
            keras.callbacks.ReduceLROnPlateau(
                MONITOR, mode="max", factor=0.5, patience=lr_patience, min_lr=1e-5
            ),
        )
    return callbacks


def tensorboard_callback(folder: Path) -> list[keras.callbacks.Callback]:
    """The TensorBoard callback, or none (with a note) when the tensorboard package is missing."""
    if importlib.util.find_spec("tensorboard") is None:
        log.info("tensorboard not installed: no TensorBoard logs (pip install tensorboard)")
        return []
    return [keras.callbacks.TensorBoard(folder, write_graph=False, profile_batch=0)]


def variant_label(variant: str) -> str:
    """'model1' -> 'Model 1'."""
    return variant.replace("model", "Model ")


def default_snapshot_dir(variant: str) -> Path:
    """``<repo>/semantic_output`` for model 1, ``<repo>/Semantic_out_2`` for model 2."""
    return REPO_ROOT / SNAPSHOT_DIRS[variant]


def backup_epoch(backup_dir: Path) -> int:
    """Epochs finished by an interrupted run (0 if there is nothing to resume)."""
    meta = backup_dir / "training_metadata.json"
    if not (backup_dir / "latest.weights.h5").is_file() or not meta.is_file():
        return 0
    return int(json.loads(meta.read_text()).get("epoch", 0))


def clear_backup(backup_dir: Path) -> None:
    """Remove the resume backup's files (the folder stays)."""
    for p in backup_dir.glob("*") if backup_dir.is_dir() else ():
        p.unlink()


def clear_previous(model_dir: Path, snapshot_dir: Path, pattern: str) -> None:
    """A fresh run: remove the epoch weights, history and snapshots of an earlier run."""
    for p in [
        *(model_dir / model.EPOCHS_DIR).glob("epoch_*.weights.h5"),
        *snapshot_dir.glob(pattern.replace("{epoch}", "*")),
        model_dir / "history.csv",
        model_dir / "history.json",
    ]:
        p.unlink(missing_ok=True)
