"""What every notebook does first: quiet logs, seeds, figure style, the data, Colab set-up.

Importing this module needs only the standard library, so a notebook can import it (and the
Colab set-up cell can call ``colab_install``) before TensorFlow or the project's requirements
are loaded.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

SYNTHETIC = "synthetic"  # DATA_DIR value that selects the embedded synthetic sample
DISTRIBUTION = "cityscapes-unet-notebooks"  # the package name in pyproject.toml
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
URL_LABELS = ("repository", "homepage")  # [project.urls] keys naming the repository, by preference
# Set (to anything but "" or "0") for headless runs: widget cells then save their static figure.
HEADLESS_ENV = "CITYSCAPES_HEADLESS"
# matplotlib backends that draw to files only: a kernel using one has no one looking at it.
FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}
TF_LOG_LEVEL = "3"  # TF_CPP_MIN_LOG_LEVEL: hide TensorFlow's C++ info, warnings and errors
QUIET_LOGGERS = ("absl", "tensorflow", "h5py")  # Python loggers kept to errors
# Keras notices about arguments it ignores, not about the notebook's work.
# Colab's own kernel and front-end packages: kept at whatever version Colab has.
COLAB_OWNED = {"ipykernel", "ipywidgets", "jupyterlab"}


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up lines (absl, oneDNN, CUDA probing, cuInit) out of the output.

    Sets ``TF_CPP_MIN_LOG_LEVEL``, imports TensorFlow with the process's stderr parked in a
    file (its C++ libraries log before any setting applies; the text is replayed if the import
    fails) and turns the absl and TensorFlow Python loggers down to errors.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = TF_LOG_LEVEL
    if "tensorflow" not in sys.modules:
        with tempfile.TemporaryFile() as log:
            saved = os.dup(2)
            os.dup2(log.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except BaseException:
                os.dup2(saved, 2)
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace"))
                raise
            finally:
                os.dup2(saved, 2)
                os.close(saved)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def setup(seed: int = 0, quiet: bool = True) -> None:
    """Quiet TensorFlow's logs (``quiet``), seed Python, NumPy and TF, set the figure style.

    Call it before anything imports TensorFlow (the cell after ``parameters``), or the C++
    start-up lines are already printed.
    """
    if quiet:
        quiet_tensorflow()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import keras
    import matplotlib.pyplot as plt

    keras.utils.set_random_seed(seed)
    plt.rcParams.update({"figure.dpi": 90, "axes.grid": False, "image.interpolation": "nearest"})


def live() -> bool:
    """True in a kernel a person looks at (JupyterLab, Colab); False for headless runs.

    Headless: ``HEADLESS_ENV`` is set, there is no IPython kernel, or matplotlib draws to files
    only (the runner and ``make`` run notebooks with ``MPLBACKEND=agg``).
    """
    if os.environ.get(HEADLESS_ENV, "") not in ("", "0"):
        return False
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    import matplotlib

    return matplotlib.get_backend().lower() not in FILE_BACKENDS


def find_tensorboard() -> None:
    """Point the ``%tensorboard`` magic at this environment's ``tensorboard`` (PATH may lack it)."""
    binary = Path(sys.executable).with_name("tensorboard")
    if binary.is_file():
        os.environ.setdefault("TENSORBOARD_BINARY", str(binary))


def resolve_data(data_dir: str, run_dir: str | os.PathLike, seed: int = 0, **sample_sizes) -> Path:
    """The dataset folder: ``data_dir`` itself, or for ``"synthetic"`` the generated sample.

    The synthetic sample lives in ``<run_dir>/synthetic_data`` and is generated once (sizes
    ``n_train``/``n_val`` default to the generator's); the Kaggle download is ``"kaggle"``.
    """
    from utils import data, runio, synthetic

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


def requirements() -> list[str]:
    """The project's runtime requirements, as written in pyproject.toml."""
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def install_plan() -> tuple[list[str], list[str]]:
    """(requirements to install, ``name==version`` pins of those present in range).

    A package in ``COLAB_OWNED`` that is present counts as present at any version.
    """
    from packaging.requirements import Requirement

    missing, present = [], []
    for spec in requirements():
        req = Requirement(spec)
        have = installed_version(req.name)
        in_range = have is not None and req.specifier.contains(have, prereleases=True)
        if have is not None and (in_range or req.name in COLAB_OWNED):
            present.append(f"{req.name}=={have}")
        else:
            missing.append(spec)
    return missing, present


def pip_install(args: Sequence[str]) -> None:
    """``python -m pip install -q ARGS`` in this kernel's environment."""
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *args])


def colab_install() -> list[list[str]]:
    """Install the project on Colab, keeping what Colab has in range (TensorFlow above all).

    The project goes in editable with ``--no-deps``; only missing (or out-of-range)
    requirements are installed, with the present ones pinned as constraints so pip cannot
    replace them. Says what it kept and installed; returns the ``pip install`` arguments used.
    """
    missing, present = install_plan()
    if not missing and installed_version(DISTRIBUTION) is not None:
        print(f"{DISTRIBUTION} and all its requirements are installed")
        return []
    runs = [["--no-deps", "-e", str(PROJECT_ROOT)]]
    if missing:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
            pins.write("\n".join(present) + "\n")
        runs.append(["-c", pins.name, *missing])
    for args in runs:
        pip_install(args)
    print(f"kept (already installed, in range): {', '.join(present) or 'nothing'}")
    print(f"installed: the project (editable), {', '.join(missing) or 'no other package'}")
    return runs
