"""Shared figure helpers: saving, class legends in official colours, image grids."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from utils import labels, runio


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = 80, close: bool = True) -> Path:
    """Save a figure as a PNG at exactly ``path``, atomically; close it if pyplot holds it.

    The figure is rendered into memory, then written by ``runio.atomic_write_bytes``. Figures
    made with ``matplotlib.figure.Figure`` (callbacks) are never held by pyplot.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    path = runio.atomic_write_bytes(path, buffer.getvalue())
    if close and fig.canvas.manager is not None:
        plt.close(fig)
    return path


def save_figure(fig: Figure, run_dir: str | os.PathLike, name: str, dpi: int = 110) -> Path:
    """Save ``fig`` as ``RUN_DIR/figures/<name>.png``; it stays open, so a notebook shows it."""
    return save_png(fig, runio.figures_dir(run_dir) / f"{name}.png", dpi=dpi, close=False)


def class_legend(
    ax: plt.Axes | plt.Figure,  # an axes, or a whole figure (a legend beside its grid)
    class_ids: Sequence[int] | None = None,
    names: Sequence[str] = labels.CLASS_NAMES,
    colours: np.ndarray | None = None,
    **kwargs,
) -> None:
    """Legend of class names with colour swatches (default: all 19 official classes)."""
    colours = labels.train_colours() if colours is None else np.asarray(colours)
    ids = range(len(names)) if class_ids is None else class_ids
    handles = [
        Patch(
            facecolor=np.asarray(colours[i]) / 255.0,
            edgecolor="black",
            linewidth=0.3,
            label=names[i],
        )
        for i in ids
    ]
    kwargs.setdefault("fontsize", "small")
    kwargs.setdefault("loc", "center left")
    kwargs.setdefault("bbox_to_anchor", (1.01, 0.5))
    ax.legend(handles=handles, **kwargs)


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    suptitle: str,
    ncols: int | None = None,
    size: float = 3.0,
) -> Figure:
    """A grid of images with a title each, axes hidden."""
    n = len(images)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, title in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(image)
        ax.set_title(title, fontsize="small")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
