"""Dataset statistics for notebook 01: one pass over the pair files, with an integrity report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from utils import labels
from utils.colours import ColourMapping, nearest_centre
from utils.data import DatasetError, read_pair
from utils.labels import NAMED_DISTANCE

PRIOR_SIZE = 64  # side of the per-class spatial prior maps
COLOUR_STRIDE = 4  # every 4th pixel (per axis) enters the colour census


@dataclass
class DatasetScan:
    """Everything notebook 01 reports, accumulated over the files of one split."""

    class_names: tuple[str, ...] = labels.CLASS_NAMES
    files: int = 0
    readable: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)
    shapes: Counter = field(default_factory=Counter)
    photo_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))
    photo_sq_sum: np.ndarray = field(default_factory=lambda: np.zeros(3))
    pixels: int = 0
    class_counts: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))
    prior: np.ndarray | None = None  # (classes, 64, 64) counts, allocated by scan
    colour_distances: list[np.ndarray] = field(default_factory=list)
    colour_hist: np.ndarray = field(default_factory=lambda: np.zeros(32**3, np.int64))  # 5-bit RGB

    @property
    def photo_mean(self) -> np.ndarray:
        """Per-channel mean of the photos (RGB, 0..255)."""
        return self.photo_sum / max(self.pixels, 1)

    @property
    def photo_std(self) -> np.ndarray:
        """Per-channel standard deviation of the photos."""
        return np.sqrt(np.maximum(self.photo_sq_sum / max(self.pixels, 1) - self.photo_mean**2, 0))

    def class_shares(self) -> np.ndarray:
        """Share of all labelled pixels per class (void excluded), shape (classes,)."""
        counts = self.class_counts[: len(self.class_names)].astype(float)
        return counts / max(counts.sum(), 1)

    def void_share(self) -> float:
        """Share of label pixels that map to void."""
        return float(self.class_counts[labels.IGNORE_ID] / max(self.class_counts.sum(), 1))

    def spatial_prior(self) -> np.ndarray:
        """Per-class probability of occurring at each position, shape (classes, 64, 64)."""
        return self.prior / max(self.readable, 1)

    def named_share(self) -> float:
        """Share of sampled label pixels within ``NAMED_DISTANCE`` of an official colour."""
        d = np.concatenate(self.colour_distances) if self.colour_distances else np.zeros(0)
        return float((d <= NAMED_DISTANCE).mean()) if d.size else 0.0

    def summary(self) -> dict:
        """Plain numbers for the run folder's JSON."""
        shares = self.class_shares()
        return {
            "files": self.files,
            "readable": self.readable,
            "problems": [{"file": f, "problem": p} for f, p in self.problems],
            "shapes": {f"{w}x{h}": n for (h, w), n in self.shapes.items()},
            "photo_mean_rgb": self.photo_mean.round(2).tolist(),
            "photo_std_rgb": self.photo_std.round(2).tolist(),
            "class_shares": dict(zip(self.class_names, shares.round(5).tolist(), strict=True)),
            "classes_by_share": [self.class_names[i] for i in np.argsort(-shares)],
            "void_share": round(self.void_share(), 5),
            "named_pixel_share": round(self.named_share(), 4),
        }


def scan(
    files: Sequence[Path], mapping: ColourMapping | None = None, progress: bool = True
) -> DatasetScan:
    """Read every pair file once; unreadable or malformed files are listed, not fatal."""
    mapping = mapping or ColourMapping.palette()
    official, _, _ = labels.reference_colours()
    official = official.astype(np.float32)
    n = mapping.num_classes
    result = DatasetScan(class_names=mapping.class_names, files=len(files))
    result.prior = np.zeros((n, PRIOR_SIZE, PRIOR_SIZE), np.int64)
    one_hot = np.eye(256, n, dtype=np.int64)  # void rows stay all-zero
    for path in tqdm(files, desc="scanning pairs", disable=not progress, mininterval=1):
        try:
            photo, colours = read_pair(path)
        except DatasetError as e:
            result.problems.append((str(path), str(e).removeprefix(f"{path}: ")))
            continue
        result.readable += 1
        result.shapes[photo.shape[:2]] += 1
        px = photo.reshape(-1, 3).astype(np.float64)
        result.photo_sum += px.sum(0)
        result.photo_sq_sum += (px * px).sum(0)
        result.pixels += len(px)
        ids = mapping.apply(colours)
        result.class_counts += np.bincount(ids.ravel(), minlength=256)
        small = cv2.resize(ids, (PRIOR_SIZE, PRIOR_SIZE), interpolation=cv2.INTER_NEAREST)
        result.prior += one_hot[small].transpose(2, 0, 1)
        sample = colours[::COLOUR_STRIDE, ::COLOUR_STRIDE].reshape(-1, 3)
        nearest = official[nearest_centre(sample, official)]
        result.colour_distances.append(
            np.linalg.norm(sample.astype(np.float32) - nearest, axis=1).astype(np.float16)
        )
        q = (sample >> 3).astype(np.int32)
        result.colour_hist += np.bincount((q[:, 0] * 32 + q[:, 1]) * 32 + q[:, 2], minlength=32**3)
    return result


def sample_pairs(
    files: Sequence[Path], n: int, seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """Up to ``n`` readable pairs drawn at random (seeded) for display, and their file names.

    Unreadable or malformed files are passed over (the integrity report of :func:`scan` lists
    them), so a bad file drawn as a sample never stops notebook 01.
    """
    picks = []
    for i in np.random.default_rng(seed).permutation(len(files)):
        if len(picks) == n:
            break
        try:
            picks.append((int(i), read_pair(files[i])))
        except DatasetError:
            continue
    picks.sort(key=lambda pick: pick[0])
    return [pair for _, pair in picks], [files[i].name for i, _ in picks]


def frequent_colours(scan_result: DatasetScan, n: int = 24) -> list[tuple[tuple, int, str, float]]:
    """The ``n`` most frequent label colours (5-bit bins), nearest official label, distance."""
    official, _, names = labels.reference_colours()
    official = official.astype(np.float32)
    out = []
    for index in np.argsort(-scan_result.colour_hist)[:n]:
        r, g, b = index // 1024, index // 32 % 32, index % 32
        colour = np.array([r, g, b], dtype=np.float32) * 8 + 4  # centre of the 8-wide bin
        i = int(nearest_centre(colour[None], official)[0])
        dist = float(np.linalg.norm(colour - official[i]))
        out.append(
            (tuple(int(v) for v in colour), int(scan_result.colour_hist[index]), names[i], dist)
        )
    return out
