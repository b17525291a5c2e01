"""Bottleneck features per cell, their class and region labels, t-SNE and separation measures.

Every cell of the bottleneck grid (1/16 of the input for model 1) gives one feature vector. A cell
is labelled by the majority class of the ground-truth pixels it covers (with the purity of that
majority) and by where it sits in the frame (a 3x3 grid or three horizontal bands). Sampling is
stratified by class so that rare classes show up, with a cap on points; the embedding is PCA to
50 dimensions then scikit-learn's t-SNE; separation is k-nearest-neighbour class accuracy
(cross-validated) in the plane and in the original space, and silhouette by class.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from utils import labels
from utils.activations import BOTTLENECK, layer_outputs

log = logging.getLogger(__name__)

MIN_LABELLED = 0.5  # a cell with less than half of its pixels labelled is void
PCA_DIMS = 50
KNN_K = 10
CV_FOLDS = 5
# Threads for t-SNE. On a 2-core machine shared with other work, 1 thread was faster than 2
# (5000 points: 30 s vs 42 s; 256 points: 1 s vs 12 s, OpenMP threads waiting on busy cores);
# benchmarks/bench_tsne.py times both.
TSNE_JOBS = 1
REGION_NAMES = {
    "grid3x3": (
        "top-left",
        "top-centre",
        "top-right",
        "middle-left",
        "centre",
        "middle-right",
        "bottom-left",
        "bottom-centre",
        "bottom-right",
    ),
    "bands": ("top (sky)", "middle", "bottom (road)"),
}


@dataclass
class CellFeatures:
    """One row per bottleneck cell: feature vector, majority class, purity, region, position."""

    features: np.ndarray  # (N, C) float32 activations
    labels: np.ndarray  # (N,) majority class id, labels.IGNORE_ID where mostly void
    purity: np.ndarray  # (N,) share of the cell's labelled pixels in the majority class
    regions: np.ndarray  # (N,) index into region_names
    image: np.ndarray  # (N,) index of the image the cell comes from
    row: np.ndarray  # (N,) cell row in the grid
    col: np.ndarray  # (N,) cell column in the grid
    grid: tuple[int, int]  # bottleneck grid size (rows, cols)
    scheme: str  # "grid3x3" or "bands"

    @property
    def region_names(self) -> tuple[str, ...]:
        """Names of the region indices."""
        return REGION_NAMES[self.scheme]

    def __len__(self) -> int:
        return len(self.labels)

    def grid_of(self, values: np.ndarray, image: int) -> np.ndarray:
        """One image's cells of a per-cell array (e.g. ``labels``) as a (rows, cols) grid."""
        mine = self.image == image
        out = np.zeros(self.grid, dtype=np.asarray(values).dtype)
        out[self.row[mine], self.col[mine]] = np.asarray(values)[mine]
        return out

    def subset(self, index: np.ndarray) -> CellFeatures:
        """The cells at ``index`` (same grid and scheme)."""
        pick = {
            k: getattr(self, k)[index]
            for k in ("features", "labels", "purity", "regions", "image", "row", "col")
        }
        return CellFeatures(**pick, grid=self.grid, scheme=self.scheme)


def collect(dataset, max_images: int = 0) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(photos, ids) numpy stacks from a ``make_dataset`` pipeline; at most ``max_images``."""
    photos, ids, n = [], [], 0
    for p, i in dataset:
        photos.append(p.numpy())
        ids.append(i.numpy())
        n += len(photos[-1])
        if max_images and n >= max_images:
            break
    if not photos:
        raise ValueError("collect: the dataset yielded no images")
    photos, ids = np.concatenate(photos), np.concatenate(ids)
    return (photos[:max_images], ids[:max_images]) if max_images else (photos, ids)


def region_grid(grid: Sequence[int], scheme: str = "grid3x3") -> np.ndarray:
    """(rows, cols) map of region index for every cell, by where the cell's centre falls."""
    if scheme not in REGION_NAMES:
        raise ValueError(f"unknown region scheme {scheme!r}; choose from {', '.join(REGION_NAMES)}")
    rows, cols = (int(g) for g in grid)
    band_r = np.minimum(((np.arange(rows) + 0.5) / rows * 3).astype(int), 2)
    band_c = np.minimum(((np.arange(cols) + 0.5) / cols * 3).astype(int), 2)
    if scheme == "bands":
        return np.repeat(band_r[:, None], cols, axis=1)
    return band_r[:, None] * 3 + band_c[None, :]


def cell_labels(
    ids: np.ndarray, grid: Sequence[int], num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Majority class and its purity for every cell of a (rows, cols) grid over (N, H, W) ids.

    Void pixels (``IGNORE_ID``, or any id >= ``num_classes``) do not vote; a cell with less than
    ``MIN_LABELLED`` of its pixels labelled gets ``IGNORE_ID`` and purity 0.
    """
    ids = np.asarray(ids)
    n, h, w = ids.shape
    rows, cols = (int(g) for g in grid)
    if h % rows or w % cols:
        raise ValueError(f"label size {h}x{w} is not a whole multiple of the grid {rows}x{cols}")
    fh, fw = h // rows, w // cols
    cls = np.where(ids < num_classes, ids, num_classes).astype(np.int64)  # void -> extra bin
    cells = cls.reshape(n, rows, fh, cols, fw).transpose(0, 1, 3, 2, 4).reshape(-1, fh * fw)
    # One bincount over (cell, class) pairs: per-cell class histograms without a Python loop.
    keys = np.arange(len(cells))[:, None] * (num_classes + 1) + cells
    counts = np.bincount(keys.ravel(), minlength=len(cells) * (num_classes + 1))
    counts = counts.reshape(len(cells), num_classes + 1)[:, :num_classes]
    labelled = counts.sum(axis=1)
    majority = counts.argmax(axis=1)
    purity = counts.max(axis=1) / np.maximum(labelled, 1)
    void = labelled < MIN_LABELLED * fh * fw
    majority = np.where(void, labels.IGNORE_ID, majority)
    purity = np.where(void, 0.0, purity)
    return majority.reshape(n, rows, cols), purity.reshape(n, rows, cols).astype(np.float32)


def bottleneck_cells(
    model: keras.Model,
    photos: np.ndarray,
    ids: np.ndarray,
    num_classes: int,
    layer: str = BOTTLENECK,
    scheme: str = "grid3x3",
) -> CellFeatures:
    """Features of every cell of layer ``layer`` for a stack of photos, with cell labels."""
    acts = layer_outputs(model, photos, [layer])[layer]  # (N, rows, cols, C)
    n, rows, cols, channels = acts.shape
    majority, purity = cell_labels(ids, (rows, cols), num_classes)
    regions = np.broadcast_to(region_grid((rows, cols), scheme), (n, rows, cols))
    image, row, col = np.meshgrid(np.arange(n), np.arange(rows), np.arange(cols), indexing="ij")
    return CellFeatures(
        features=acts.reshape(-1, channels),
        labels=majority.ravel(),
        purity=purity.ravel(),
        regions=regions.ravel().copy(),
        image=image.ravel(),
        row=row.ravel(),
        col=col.ravel(),
        grid=(rows, cols),
        scheme=scheme,
    )


def stratified_sample(
    cell_classes: np.ndarray,
    max_points: int,
    seed: int = 0,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Sorted indices of at most ``max_points`` cells, as even across classes as the data allows.

    Water-filling: classes are visited from rarest up; each takes all its cells or an equal share
    of what is left of the budget, so a rare class keeps every cell and the rest share the rest.
    Void cells (``IGNORE_ID``) and cells not ``eligible`` are never chosen.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    cell_classes = np.asarray(cell_classes)
    ok = cell_classes != labels.IGNORE_ID
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool)
    present, counts = np.unique(cell_classes[ok], return_counts=True)
    rng = np.random.default_rng(seed)
    budget, chosen = int(max_points), []
    for left, k in enumerate(np.argsort(counts, kind="stable")):
        take = min(int(counts[k]), budget // (len(present) - left))
        members = np.flatnonzero(ok & (cell_classes == present[k]))
        chosen.append(rng.choice(members, size=take, replace=False))
        budget -= take
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def effective_perplexity(n_points: int, perplexity: float) -> float:
    """The perplexity t-SNE can use for ``n_points`` (it needs perplexity < n_points / 3)."""
    return float(min(perplexity, max(2.0, (n_points - 1) / 3)))


def embed(
    features: np.ndarray,
    perplexity: float = 30.0,
    seed: int = 0,
    pca_dims: int = PCA_DIMS,
    n_jobs: int = TSNE_JOBS,
) -> np.ndarray:
    """(N, C) features -> (N, 2) t-SNE coordinates (PCA to ``pca_dims`` first, PCA init)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float32)
    if len(x) < 5:
        raise ValueError(f"t-SNE needs at least 5 points, got {len(x)}")
    dims = min(pca_dims, x.shape[1], len(x))
    if dims < x.shape[1]:
        x = PCA(dims, random_state=seed).fit_transform(x)
    used = effective_perplexity(len(x), perplexity)
    if used != perplexity:
        log.warning(
            "perplexity %.1f is too large for %d points; using %.1f", perplexity, len(x), used
        )
    tsne = TSNE(2, perplexity=used, init="pca", random_state=seed, n_jobs=n_jobs)
    # TSNE's n_jobs covers only the neighbour search; its gradient loop uses OpenMP on every
    # core, so the thread pools are limited here as well.
    with threadpool_limits(n_jobs):
        return tsne.fit_transform(x).astype(np.float32)


def usable_k(n_points: int, k: int = KNN_K, folds: int = CV_FOLDS) -> int:
    """The largest k up to ``k`` that every training fold of ``n_points`` can supply."""
    folds = min(folds, n_points)
    return max(1, min(k, n_points - -(-n_points // folds)))


def knn_predictions(
    x: np.ndarray, y: np.ndarray, k: int = KNN_K, folds: int = CV_FOLDS, seed: int = 0
) -> np.ndarray:
    """Out-of-fold kNN class predictions (shuffled k-fold: each point predicted by the others)."""
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    cv = KFold(min(folds, len(y)), shuffle=True, random_state=seed)
    return cross_val_predict(KNeighborsClassifier(usable_k(len(y), k, folds)), x, y, cv=cv)


def silhouette(x: np.ndarray, y: np.ndarray) -> float:
    """Silhouette score by class (Euclidean), NaN when fewer than 2 classes."""
    from sklearn.metrics import silhouette_score

    n_classes = len(np.unique(y))
    return float(silhouette_score(x, y)) if 2 <= n_classes < len(y) else float("nan")


def separation(
    features: np.ndarray,
    embedding: np.ndarray,
    cell_classes: np.ndarray,
    class_names: Sequence[str] | None = None,
    k: int = KNN_K,
    seed: int = 0,
) -> dict:
    """How well classes separate: kNN accuracy in 2-D and original space vs the majority share.

    Also silhouette by class in both spaces and per-class kNN recall in the plane (keyed by class
    name when ``class_names`` is given). The t-SNE plane was fitted on all points, so its kNN
    accuracy measures how the picture groups classes, not a held-out prediction.
    """
    y = np.asarray(cell_classes)
    present, counts = np.unique(y, return_counts=True)
    pred_2d = knn_predictions(np.asarray(embedding), y, k, seed=seed)
    pred_nd = knn_predictions(np.asarray(features), y, k, seed=seed)

    def name(c: int) -> str:
        return class_names[c] if class_names is not None else str(int(c))

    recall = {name(c): float((pred_2d[y == c] == c).mean()) for c in present}
    return {
        "points": int(len(y)),
        "classes": int(len(present)),
        "knn_k": usable_k(len(y), k),
        "knn_accuracy_2d": float((pred_2d == y).mean()),
        "knn_accuracy_original": float((pred_nd == y).mean()),
        "majority_class": name(present[counts.argmax()]),
        "majority_share": float(counts.max() / len(y)),
        "silhouette_2d": silhouette(np.asarray(embedding), y),
        "silhouette_original": silhouette(np.asarray(features), y),
        "knn_recall_2d": recall,
        "class_counts": {name(c): int(n) for c, n in zip(present, counts, strict=True)},
    }
