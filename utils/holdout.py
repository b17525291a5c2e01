"""Which pair files are held out for validation when a dataset has only a training split.

The Kaggle pair files of the Cityscapes train split are numbered in the official list's order,
which groups them by city (:data:`CITYSCAPES_TRAIN_CITIES`). Holding out the last whole cities
(:func:`city_holdout_split`, the default) gives a validation split that shares no street with
training and predicts quality on unseen cities; a seeded random share (:func:`holdout_split`)
shares streets and neighbouring frames with training and flatters a model. ``utils.data``'s
``find_dataset`` applies them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils.checks import DatasetError

DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 42
HOLDOUTS = ("city", "random")
# The official Cityscapes train list, in the order the Kaggle pair files 1.jpg .. 2975.jpg follow
# (sorted by city; see ../shared/data/README.md): (city, number of images).
CITYSCAPES_TRAIN_CITIES = (
    ("aachen", 174), ("bochum", 96), ("bremen", 316), ("cologne", 154), ("darmstadt", 85),
    ("dusseldorf", 221), ("erfurt", 109), ("hamburg", 248), ("hanover", 196), ("jena", 119),
    ("krefeld", 99), ("monchengladbach", 94), ("strasbourg", 365), ("stuttgart", 196),
    ("tubingen", 144), ("ulm", 95), ("weimar", 142), ("zurich", 122),
)  # fmt: skip


def natural_key(path: Path) -> tuple:
    """Sort key that puts 2.jpg before 10.jpg."""
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name))


def holdout_split(
    files: Sequence[Path],
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = DEFAULT_SPLIT_SEED,
) -> tuple[list[Path], list[Path]]:
    """Reproducible, disjoint (train, val) split of a file list; order of each part is kept."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    files = sorted(files, key=natural_key)
    n_val = max(1, round(len(files) * val_fraction))
    if n_val >= len(files):
        raise DatasetError(f"only {len(files)} files: too few to hold out a validation split")
    chosen = set(np.random.default_rng(seed).permutation(len(files))[:n_val].tolist())
    train = [f for i, f in enumerate(files) if i not in chosen]
    val = [f for i, f in enumerate(files) if i in chosen]
    return train, val


def city_holdout_split(
    files: Sequence[Path], val_fraction: float = DEFAULT_VAL_FRACTION
) -> tuple[list[Path], list[Path], str]:
    """(train, val, how) with val a contiguous block at the end: whole cities where known.

    The Kaggle pair files are numbered in the official train list's order, which is grouped by
    city. For exactly those files (1 .. 2975) the last whole cities holding at least
    ``val_fraction`` of the files are held out (ulm, weimar, zurich: 359 files); for any other
    file list the last ``val_fraction`` of the files in natural order. Neighbouring frames of one
    street never straddle the split, so the score predicts quality on unseen cities.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    files = sorted(files, key=natural_key)
    n = len(files)
    total = sum(c for _, c in CITYSCAPES_TRAIN_CITIES)
    if [f.stem for f in files] == [str(i) for i in range(1, total + 1)]:
        n_val, cities = 0, []
        for city, count in reversed(CITYSCAPES_TRAIN_CITIES):
            if n_val >= val_fraction * n:
                break
            n_val += count
            cities.insert(0, city)
        how = f"held out the last {len(cities)} cities ({', '.join(cities)}: {n_val} files)"
    else:
        n_val = max(1, round(n * val_fraction))
        how = f"held out the last {n_val} files (a contiguous block: city-disjoint if grouped)"
    if n_val >= n:
        raise DatasetError(f"only {n} files: too few to hold out a validation split")
    return files[:-n_val], files[-n_val:], how
