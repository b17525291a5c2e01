"""Figures of notebooks 03-04: predictions, learning curves, per-class IoU, confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from utils import labels
from utils.colours import ColourMapping
from utils.viz.common import class_legend

CURVES = (("loss", "loss"), ("pixel_accuracy", "pixel accuracy"), ("mean_iou", "mean IoU"))
LEGEND_WIDTH = 1.8  # inches beside an image grid for its class legend


def _figure(figsize: tuple[float, float], pyplot: bool) -> Figure:
    """A pyplot figure (shown in notebooks) or a detached one (for callbacks: no global state)."""
    return plt.figure(figsize=figsize) if pyplot else Figure(figsize=figsize)


def _grid_size(photos: np.ndarray, ncols: int, cell: float) -> tuple[float, float]:
    """Figure size for rows of ``ncols`` images ``cell`` inches wide, as high as the photos'
    proportions need (wide 96 x 192 photos: lower rows), and the class legend beside them."""
    height, width = np.shape(photos[0])[:2]
    rows = (cell * height / width + 0.25) * len(photos) + 0.6  # + titles
    return (cell * ncols + LEGEND_WIDTH, max(rows, 3.6))  # 3.6 in: the legend's own height


def _legend_beside(fig: Figure, shown: Sequence[int], mapping: ColourMapping) -> None:
    """The legend of the classes ``shown``, to the right of the grid; lays the figure out."""
    names, colours = mapping.class_names, mapping.display_colours
    class_legend(fig, shown, names, colours, loc="center right", bbox_to_anchor=(1, 0.5))
    fig.tight_layout(rect=(0, 0, 1 - LEGEND_WIDTH / fig.get_figwidth(), 1))


def _classes_shown(mapping: ColourMapping, *id_images: np.ndarray) -> list[int]:
    """Class ids that occur in any of the images (void left out)."""
    found = np.unique(np.concatenate([np.asarray(a).ravel() for a in id_images]))
    return [int(i) for i in found if i < mapping.num_classes]


def prediction_rows(
    photos: np.ndarray,
    truths: np.ndarray,
    preds: np.ndarray,
    mapping: ColourMapping,
    title: str,
    row_titles: Sequence[str] | None = None,
    pyplot: bool = True,
) -> Figure:
    """One row per image: photo | ground truth | prediction, in the mapping's class colours."""
    n = len(photos)
    fig = _figure(_grid_size(photos, 3, cell=2.55), pyplot)
    axes = fig.subplots(n, 3, squeeze=False)
    colours = mapping.display_colours
    for i, row in enumerate(axes):
        images = (
            photos[i],
            labels.colourise(truths[i], colours),
            labels.colourise(preds[i], colours),
        )
        for ax, image, name in zip(
            row, images, ("photo", "ground truth", "prediction"), strict=True
        ):
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(name if i == 0 else "", fontsize="small")
        if row_titles:
            row[0].set_ylabel(row_titles[i], fontsize="small")
    fig.suptitle(title, fontsize="medium")
    _legend_beside(fig, _classes_shown(mapping, truths, preds), mapping)
    return fig


def learning_curves(
    histories: Mapping[str, dict[str, np.ndarray]],
    title: str,
    small_epochs: Mapping[str, int] | None = None,
) -> Figure:
    """Loss, pixel accuracy and mIoU per epoch; training dashed, validation solid; shared axes.
    The title says the validation is at the input size (as Keras measured it in training).
    ``small_epochs``: per model, its first epochs on small photos (``utils.progressive``), shaded:
    their validation, at the full size, dips and jumps where that phase ends."""
    small_epochs = small_epochs or {}
    fig, axes = plt.subplots(1, len(CURVES), figsize=(5 * len(CURVES), 3.8))
    for (key, name), ax in zip(CURVES, axes, strict=True):
        for i, (model_name, cols) in enumerate(histories.items()):
            colour = f"C{i}"
            if small_epochs.get(model_name):
                label = f"{model_name} on small photos" if ax is axes[-1] else "_nolegend_"
                ax.axvspan(0.5, small_epochs[model_name] + 0.5, color=colour, alpha=0.08,
                           label=label)  # fmt: skip
            for prefix, style, split in (("", "--", "train"), ("val_", "-", "val")):
                if prefix + key in cols:
                    ax.plot(
                        cols["epoch"],
                        cols[prefix + key],
                        style,
                        color=colour,
                        marker=".",
                        label=f"{model_name} {split}",
                    )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize="small")
    fig.suptitle(f"{title} (validation at the input size)")
    fig.tight_layout()
    return fig


def per_class_iou(
    ious: Mapping[str, Sequence[float | None]],
    class_names: Sequence[str],
    colours: np.ndarray,
    title: str,
) -> Figure:
    """Grouped horizontal bars of per-class IoU, one bar per model; class names coloured."""
    names = list(ious)
    values = np.array([[np.nan if v is None else v for v in ious[m]] for m in names], dtype=float)
    n_cls = len(class_names)
    fig, ax = plt.subplots(figsize=(8, 0.38 * n_cls * max(1, len(names)) / 1.5 + 1.2))
    height = 0.8 / len(names)
    y = np.arange(n_cls)
    for i, m in enumerate(names):
        ax.barh(y + i * height, np.nan_to_num(values[i]), height, label=m, color=f"C{i}")
    ax.set_yticks(y + 0.4 - height / 2, class_names)
    for tick, colour in zip(ax.get_yticklabels(), np.asarray(colours) / 255.0, strict=True):
        tick.set_bbox({"facecolor": colour, "alpha": 0.35, "edgecolor": "none", "pad": 1})
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("IoU (validation)")
    ax.set_ylabel("class")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def confusion_matrix(cm: np.ndarray, class_names: Sequence[str], title: str) -> Figure:
    """Row-normalised confusion matrix (share of each true class predicted as each class)."""
    cm = np.asarray(cm, dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(0.42 * n + 2.5, 0.42 * n + 1.5))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=90, fontsize="small")
    ax.set_yticks(range(n), class_names, fontsize="small")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(n):
        for j in range(n):
            if rows[i, j] >= 0.05:
                ax.text(
                    j,
                    i,
                    f"{rows[i, j]:.2f}".lstrip("0"),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if rows[i, j] > 0.5 else "black",
                )
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def epoch_grid(
    photos: np.ndarray,
    truths: np.ndarray,
    preds_by_epoch: Mapping[int, np.ndarray],
    mapping: ColourMapping,
    title: str,
) -> Figure:
    """Rows = validation images; columns = photo, truth, then the prediction after each epoch."""
    epochs = list(preds_by_epoch)
    n, ncols = len(photos), 2 + len(epochs)
    fig, axes = plt.subplots(n, ncols, figsize=_grid_size(photos, ncols, cell=2.1), squeeze=False)
    colours = mapping.display_colours
    for i in range(n):
        images = [photos[i], labels.colourise(truths[i], colours)]
        images += [labels.colourise(preds_by_epoch[e][i], colours) for e in epochs]
        names = ["photo", "truth"] + [f"epoch {e}" for e in epochs]
        for ax, image, name in zip(axes[i], images, names, strict=True):
            ax.imshow(image)
            ax.axis("off")
            if i == 0:
                ax.set_title(name, fontsize="small")
    fig.suptitle(title)
    _legend_beside(fig, _classes_shown(mapping, truths, *preds_by_epoch.values()), mapping)
    return fig


def show_png_files(paths: Sequence[Path], titles: Sequence[str], suptitle: str) -> Figure:
    """Saved PNG figures (e.g. per-epoch snapshots) side by side."""
    fig, axes = plt.subplots(1, len(paths), figsize=(5 * len(paths), 6), squeeze=False)
    for ax, path, name in zip(axes[0], paths, titles, strict=True):
        ax.imshow(plt.imread(path))
        ax.set_title(name, fontsize="small")
        ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


ERROR_COLOURS = {"right": (70, 70, 70), "wrong": (230, 40, 40), "void": (0, 0, 0)}


def error_image(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """RGB error map: wrong pixels red, right ones grey, void (no label) black."""
    out = np.empty((*np.shape(truth), 3), np.uint8)
    out[...] = ERROR_COLOURS["right"]
    out[np.asarray(truth) != np.asarray(pred)] = ERROR_COLOURS["wrong"]
    out[np.asarray(truth) == labels.IGNORE_ID] = ERROR_COLOURS["void"]
    return out


def overlay_image(
    photo: np.ndarray, ids: np.ndarray, colours: np.ndarray, alpha: float = 0.5
) -> np.ndarray:
    """The photo with class colours blended over it (``alpha``: weight of the colours)."""
    base = np.asarray(photo, np.float32)
    base = base / 255.0 if base.max() > 1.0 else base
    tint = labels.colourise(ids, colours).astype(np.float32) / 255.0
    return np.clip((1 - alpha) * base + alpha * tint, 0, 1)


def model_panels(
    photo: np.ndarray,
    panels: Mapping[str, np.ndarray],
    title: str,
    mapping: ColourMapping | None = None,
    class_ids: Sequence[int] = (),
) -> Figure:
    """The photo, then one image per model side by side; a class legend (or the error legend)."""
    n = len(panels) + 1
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n + 1.6, 3.6), squeeze=False)
    for ax, (name, image) in zip(axes[0], [("photo", photo), *panels.items()], strict=True):
        ax.imshow(image)
        ax.set_title(name, fontsize="small")
        ax.axis("off")
    if mapping is not None:
        class_legend(axes[0, -1], class_ids, mapping.class_names, mapping.display_colours)
    else:
        names = list(ERROR_COLOURS)
        colours = np.array([ERROR_COLOURS[k] for k in names])
        class_legend(axes[0, -1], range(len(names)), names, colours)
    fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    return fig
