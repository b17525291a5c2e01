"""Find, read, validate and stream the Cityscapes image pairs.

A pair file is a 512x256 JPEG: the street photo on the left half, the colour-coded label image on
the right half. This module finds the dataset on disk (or downloads it with kagglehub), reads and
validates pair files with clear errors, and builds the ``tf.data`` input pipeline; which files
are held out for validation is ``utils.holdout``'s choice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from utils import checks, sampling
from utils.checks import DatasetError, check_pair_shape  # noqa: F401 - also used as data.*
from utils.holdout import (
    DEFAULT_SPLIT_SEED,
    DEFAULT_VAL_FRACTION,
    HOLDOUTS,
    city_holdout_split,
    holdout_split,
    natural_key,
)

log = logging.getLogger(__name__)

ENV_VAR = "CITYSCAPES_DATA"
# Where development machines and CI keep the real pairs: beside the project (benchmarks' default).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cityscapes_pairs"
KAGGLE_HANDLE = "dansbecker/cityscapes-image-pairs"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
STRAY_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
SPLITS = ("val", "train", "all")


@dataclass(frozen=True)
class Splits:
    """The pair files of a dataset, split into training and validation lists."""

    root: Path
    train: list[Path]
    val: list[Path]
    layout: str  # "train+val" or "train only (held-out val)"
    skipped: tuple[tuple[Path, str], ...] = ()  # (file, problem) left out by skip_bad_files


# --------------------------------------------------------------------------- finding the data
def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder in natural order; stray OS files are skipped with a note."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder not found")
    images, strays, others = [], [], []
    for p in folder.iterdir():
        if p.name.lower() in STRAY_FILES or p.name.startswith("._"):
            strays.append(p.name)
        elif p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            images.append(p)
        elif p.is_file():
            others.append(p.name)
    if strays:
        log.info("%s: ignoring stray non-image files %s", folder, sorted(strays))
    if others:
        log.warning("%s: ignoring files that are not images: %s", folder, sorted(others)[:10])
    if not images:
        raise DatasetError(f"{folder}: holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(images, key=natural_key)


def holds_images(folder: Path) -> bool:
    """Whether ``folder`` holds image files directly (a plain folder of pair files)."""
    return folder.is_dir() and any(
        p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in folder.iterdir()
    )


def locate_split_dirs(root: str | os.PathLike) -> tuple[Path, Path | None]:
    """The ``train`` and (if present) ``val`` folders under any of the Kaggle layouts.

    Accepted: ``root/{train,val}``, ``root/cityscapes_data/{train,val}``,
    ``root/cityscapes_data/cityscapes_data/{train,val}``, a root holding only ``train/``, or a
    plain folder of pair files (treated like ``train/`` alone).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "dataset folder not found"
        raise DatasetError(f"{root}: {what}")
    bases = (root, root / "cityscapes_data", root / "cityscapes_data" / "cityscapes_data")
    for base in bases:
        if (base / "train").is_dir():
            val = base / "val"
            return base / "train", (val if val.is_dir() else None)
    if holds_images(root):
        return root, None
    vals = [base / "val" for base in bases if (base / "val").is_dir()]
    if vals:
        raise DatasetError(
            f"{root}: has {vals[0].relative_to(root)}/ but no train/ folder; to use those pairs "
            f"alone, give the folder itself: {vals[0]}"
        )
    raise DatasetError(
        f"{root}: no train/ folder and no image files (looked in ., cityscapes_data/ and "
        "cityscapes_data/cityscapes_data/)"
    )


def download(dest: str | os.PathLike | None = None) -> Path:
    """Download the Kaggle dataset with kagglehub (needs Kaggle credentials and network).

    kagglehub caches under ``~/.cache/kagglehub`` (or ``KAGGLEHUB_CACHE``); ``dest`` is used as
    that cache when given. Returns the folder to pass to :func:`find_dataset`.
    """
    import kagglehub

    if dest is not None:
        os.environ["KAGGLEHUB_CACHE"] = str(Path(dest).expanduser().resolve())
    return Path(kagglehub.dataset_download(KAGGLE_HANDLE))


def resolve_root(
    path: str | os.PathLike | None = None,
    download_missing: bool = False,
    fallback: str | os.PathLike | None = None,
) -> Path:
    """The dataset folder: explicit ``path``, else ``$CITYSCAPES_DATA``, else ``fallback`` (e.g.
    ``SHARED_DATA`` for the benchmarks), else a download when allowed."""
    if path:
        return Path(path).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if fallback is not None:
        return Path(fallback)
    if download_missing:
        return download()
    raise DatasetError(
        f"no dataset given: pass a folder, set ${ENV_VAR}, or ask for the Kaggle download "
        f"(download=True; see README)"
    )


def find_dataset(
    path: str | os.PathLike | None = None,
    *,
    download_missing: bool = False,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = DEFAULT_SPLIT_SEED,
    holdout: str = "city",
) -> Splits:
    """Find the pair files; a dataset with only ``train/`` gets a held-out validation split.

    ``holdout="city"`` (default) holds out whole cities at the end of the file list (see
    ``utils.holdout.city_holdout_split``); ``"random"`` a seeded random ``val_fraction`` of the
    files (``utils.holdout.holdout_split``).
    """
    if holdout not in HOLDOUTS:
        raise ValueError(f"holdout={holdout!r}; choose from {HOLDOUTS}")
    root = resolve_root(path, download_missing)
    train_dir, val_dir = locate_split_dirs(root)
    train = list_images(train_dir)
    if val_dir is not None:
        return Splits(root, train, list_images(val_dir), "train+val")
    try:
        if holdout == "random":
            train, val = holdout_split(train, val_fraction, seed)
            how = f"held out a random {val_fraction:.0%} (seed {seed})"
        else:
            train, val, how = city_holdout_split(train, val_fraction)
    except DatasetError as e:  # name the folder: "only 1 files" alone does not say where
        raise DatasetError(f"{train_dir}: {e} (and there is no val/ folder)") from None
    return Splits(root, train, val, f"train only ({how})")


def pair_files(path: str | os.PathLike, split: str = "all") -> list[Path]:
    """The pair files a ``--data`` folder names: a split of a dataset, or a plain folder's all.

    A folder holding image files itself (and no ``train/``) is a plain folder of pairs: every
    file is used whatever ``split`` says. Otherwise ``split`` ("val", "train" or "all") of
    :func:`find_dataset`; its errors (which name the folder) are not hidden.
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; choose from {SPLITS}")
    root = Path(path).expanduser()
    if holds_images(root) and not (root / "train").is_dir():
        return list_images(root)
    splits = find_dataset(root)
    return {"val": splits.val, "train": splits.train, "all": splits.train + splits.val}[split]


# --------------------------------------------------------------------------- reading pairs
def split_pair(
    image: np.ndarray, path: str | os.PathLike = "<array>"
) -> tuple[np.ndarray, np.ndarray]:
    """Split a pair image at the middle column into (photo, label colours)."""
    check_pair_shape(image.shape, path)
    half = image.shape[1] // 2
    return image[:, :half], image[:, half:]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (grey stays 2-D, alpha stays 4 channels) or raise."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    raw = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) if raw.size else None
    if image is None:
        raise DatasetError(f"{path}: not a readable image")
    if image.dtype != np.uint8:
        raise DatasetError(f"{path}: expected 8-bit pixels, found {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def read_pair(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a pair file into (photo, label colours), both RGB uint8 of shape (H, W/2, 3)."""
    return split_pair(read_image(path), path)


def check_files(files: Sequence[Path], skip_bad: bool = False) -> list[Path]:
    """The files, after decoding each in full (``checks.decode_problems``); bad ones are named.

    A bad file raises ``DatasetError`` listing all bad files, or with ``skip_bad`` is left out
    of the returned list with a warning that lists them (never silently).
    """
    problems = checks.decode_problems(files)
    if problems and not skip_bad:
        raise checks.bad_files_error(problems)
    if problems:
        log.warning("skipping %d bad files:\n%s", len(problems), checks.describe_problems(problems))
    return [f for f in files if Path(f) not in problems]


def skip_bad_files(splits: Splits) -> Splits:
    """``splits`` without the files that fail :func:`check_files`; ``skipped`` lists them.

    Files are left out after the split, so the held-out cities stay the same. Logs a warning
    naming every skipped file.
    """
    problems = checks.decode_problems(splits.train + splits.val)
    if problems:
        log.warning("skipping %d bad files:\n%s", len(problems), checks.describe_problems(problems))
    train = [f for f in splits.train if f not in problems]
    val = [f for f in splits.val if f not in problems]
    return replace(splits, train=train, val=val, skipped=tuple(problems.items()))


# --------------------------------------------------------------------------- tf.data pipeline
LabelMapper = Callable  # tf.Tensor (H, W, 3) uint8 colours -> tf.Tensor (H, W) uint8 class ids


def decode_pair(contents, path):  # noqa: ANN001, ANN201 - tf tensors
    """Decode pair bytes into (photo, label colours) uint8 tensors; the error names the file."""
    import tensorflow as tf

    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    shape = tf.shape(image)
    tf.debugging.Assert(
        tf.equal(shape[1], 2 * shape[0]), ["pair image is not 2:1:", path, shape], summarize=3
    )
    half = shape[1] // 2
    return image[:, :half], image[:, half:]


def resize_photo(photo, image_size: tuple[int, int]):  # noqa: ANN001, ANN201
    """Resize a uint8 photo with area averaging, rounded back to uint8 (training and prediction)."""
    import tensorflow as tf

    photo = tf.image.resize(photo, image_size, method="area", antialias=True)
    return tf.cast(tf.round(photo), tf.uint8)


def resize_pair(photo, label, image_size: tuple[int, int]):  # noqa: ANN001, ANN201
    """Resize the photo with area averaging and the label colours with nearest neighbour."""
    import tensorflow as tf

    label = tf.image.resize(label, image_size, method="nearest")
    return resize_photo(photo, image_size), tf.cast(label, tf.uint8)


def make_dataset(
    files: Sequence[str | os.PathLike],
    image_size: tuple[int, int] = (128, 128),
    *,
    label_mapper: LabelMapper,
    batch_size: int = 16,
    shuffle: bool = False,
    cache: bool | str = True,
    seed: int = 0,
    check: bool = True,
    native_labels: bool = False,
    rare_repeat: float = 0.0,
):  # noqa: ANN201 - returns tf.data.Dataset
    """The input pipeline: (photo float32 in [0, 1], class ids uint8) batches of known shape.

    files -> read -> parallel decode -> split -> resize (area / nearest) -> label colours to ids
    (``label_mapper``, e.g. ``ColourMapping.tf_apply``) -> cache -> shuffle -> batch -> float
    -> prefetch. Augmentation (``utils.augment``) is mapped over the result, after the cache, so
    that every epoch draws new transforms. ``check`` decodes every file once first
    (:func:`check_files`): bad files are named up front. ``native_labels``: labels at their own
    size (scoring). ``rare_repeat`` > 0: rare classes' photos more often (``utils.sampling``).
    """
    import tensorflow as tf

    paths = [str(f) for f in files]
    if not paths:
        raise DatasetError("make_dataset: empty file list")
    if check:
        check_files([Path(p) for p in paths])
    size = tuple(int(s) for s in image_size)
    autotune = tf.data.AUTOTUNE

    def load(path):  # noqa: ANN001, ANN202
        photo, colours = decode_pair(tf.io.read_file(path), path)
        if native_labels:
            photo = resize_photo(photo, size)
        else:
            photo, colours = resize_pair(photo, colours, size)
        ids = tf.cast(label_mapper(colours), tf.uint8)
        if native_labels:
            return tf.ensure_shape(photo, (*size, 3)), ids
        return tf.ensure_shape(photo, (*size, 3)), tf.ensure_shape(ids, size)

    ds = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=autotune)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        ds = sampling.shuffled(ds, len(paths), seed, rare_repeat)
    ds = ds.batch(batch_size)

    def to_float(photo, ids):  # noqa: ANN001, ANN202
        return tf.cast(photo, tf.float32) / 255.0, ids

    return ds.map(to_float, num_parallel_calls=autotune).prefetch(autotune)
