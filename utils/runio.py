"""The run folder: its layout (one home for every path in it) and safe (atomic) writes into it.

    RUN_DIR/mapping.json            colour mapping (notebook 02 -> 03)
    RUN_DIR/models/<variant>/       a trained model folder (notebook 03 -> 04, 05, 06)
    RUN_DIR/metrics/<name>.json     each notebook's numbers
    RUN_DIR/figures/<name>.png      each notebook's figures
    RUN_DIR/executed/               executed notebook copies (``utils.series``)
    RUN_DIR/synthetic_data/         the generated synthetic sample (``DATA_DIR="synthetic"``)

The layout functions only build paths; the writers create missing parent folders.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np


def mapping_path(run_dir: str | os.PathLike) -> Path:
    """The run's colour mapping: ``RUN_DIR/mapping.json``."""
    return Path(run_dir) / "mapping.json"


def model_dir(run_dir: str | os.PathLike, variant: str) -> Path:
    """A trained model's folder: ``RUN_DIR/models/<variant>``."""
    return Path(run_dir) / "models" / variant


def metrics_path(run_dir: str | os.PathLike, name: str) -> Path:
    """A notebook's numbers: ``RUN_DIR/metrics/<name>.json`` (``name`` without ``.json``)."""
    return Path(run_dir) / "metrics" / f"{name}.json"


def figures_dir(run_dir: str | os.PathLike) -> Path:
    """Where figures are saved: ``RUN_DIR/figures``."""
    return Path(run_dir) / "figures"


def executed_dir(run_dir: str | os.PathLike) -> Path:
    """Where the headless runner puts executed notebooks: ``RUN_DIR/executed``."""
    return Path(run_dir) / "executed"


def synthetic_data_dir(run_dir: str | os.PathLike) -> Path:
    """Where the synthetic sample is generated: ``RUN_DIR/synthetic_data``."""
    return Path(run_dir) / "synthetic_data"


def _jsonable(obj: Any) -> Any:
    """NumPy scalars and arrays -> plain Python for ``json``."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)  # elsewhere: set a strict mask for an instant and put the old one back
    os.umask(old)
    return old


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a file beside ``path``, then give it ``path``'s name in one step.

    On Linux the bytes first go to an unnamed file (``O_TMPFILE``) that is named only once
    complete: a new file is linked straight to ``path``, so even SIGKILL mid-write leaves nothing
    behind. Replacing an existing file needs a temporary name and a rename; a kill in the few
    microseconds between those two calls leaves that temporary file, whole, beside the old one.
    Elsewhere a named temporary file, removed on any error. The file gets the permissions of a
    plainly created one (``0o666`` less the umask, e.g. ``0644``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:  # the mode is masked by the umask, as for any new file
        fd, unnamed = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o666), True
    except (AttributeError, OSError):  # not Linux, or a file system without O_TMPFILE
        fd, unnamed = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if unnamed and _link_fd(fd, path):  # a new file: named in place, nothing to rename
                return path
            if unnamed:
                _link_fd(fd, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _link_fd(fd: int, path: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``path``; False if ``path`` already exists.

    ``linkat`` through ``/proc/self/fd`` with AT_SYMLINK_FOLLOW, as ``open(2)`` shows for
    O_TMPFILE; Python's ``os.link`` has no wrapper for this, hence by hand.
    """
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=folder)
    except FileExistsError:
        return False
    finally:
        os.close(folder)
    return True


def writable_dir(path: str | os.PathLike) -> Path:
    """``path`` if it is, or can be made, a folder this process may write in; creates nothing.

    Commands call this on ``--out`` before they start work: a file in the way or a read-only
    folder is named at once, not after the work is done.
    """
    path = Path(path).expanduser()
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise NotADirectoryError(
            f"{existing}: is a file, not a folder" + ("" if existing == path else f" ({path})")
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"{existing}: folder is not writable"
            + ("" if existing == path else f" (to create {path})")
        )
    return path


def writable_file(path: str | os.PathLike) -> Path:
    """``path`` if a file can be written there (its folder is writable, it is no folder)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name")
    writable_dir(path.parent)
    return path


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, default=_jsonable)
    return atomic_write_bytes(path, text.encode())


def load_json(path: str | os.PathLike) -> Any:
    """Read JSON; a missing or broken file gets an error that names it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
