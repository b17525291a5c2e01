"""Figures of notebook 01: sample pairs, class frequencies, spatial priors, label colours."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from utils import labels


def sample_pairs(pairs: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str]) -> Figure:
    """Rows of photo | label colours for a few pair files."""
    fig, axes = plt.subplots(len(pairs), 2, figsize=(6, 3 * len(pairs)), squeeze=False)
    for (photo, label), name, row in zip(pairs, names, axes, strict=True):
        row[0].imshow(photo)
        row[0].set_title(f"{name}: photo", fontsize="small")
        row[1].imshow(label)
        row[1].set_title(f"{name}: label colours", fontsize="small")
        for ax in row:
            ax.axis("off")
    fig.suptitle("Sample pairs: street photo (left half) and label image (right half)")
    fig.tight_layout()
    return fig


def class_frequencies(
    shares: np.ndarray,
    title: str,
    names: Sequence[str] = labels.CLASS_NAMES,
    colours: np.ndarray | None = None,
) -> Figure:
    """Horizontal bar chart of class pixel shares, largest first, bars in class colours (log x)."""
    colours = labels.train_colours() if colours is None else np.asarray(colours)
    order = np.argsort(shares)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1))
    ax.barh(
        [names[i] for i in order],
        np.maximum(shares[order], 1e-7),
        color=colours[order] / 255.0,
        edgecolor="black",
        linewidth=0.4,
    )
    for y, i in enumerate(order):
        ax.text(max(shares[i], 1e-7) * 1.1, y, f"{shares[i]:.2%}", va="center", fontsize="x-small")
    ax.set_xscale("log")
    ax.set_xlabel("share of labelled pixels (log scale)")
    ax.set_ylabel("class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def spatial_priors(
    prior: np.ndarray,
    title: str,
    names: Sequence[str] = labels.CLASS_NAMES,
    colours: np.ndarray | None = None,
    ncols: int = 5,
) -> Figure:
    """One heat map per class: how often the class covers each position of the frame."""
    colours = labels.train_colours() if colours is None else np.asarray(colours)
    n = len(prior)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.5 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, ax in enumerate(axes.ravel()[:n]):
        im = ax.imshow(prior[i], vmin=0, vmax=max(float(prior[i].max()), 1e-6), cmap="magma")
        ax.set_title(
            names[i],
            fontsize="small",
            color="black",
            bbox={"facecolor": colours[i] / 255.0, "alpha": 0.5, "pad": 1},
        )
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def colour_distances(distances: np.ndarray, named_distance: float, title: str) -> Figure:
    """Histogram of each label pixel's RGB distance to its nearest official colour."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.hist(distances, bins=np.arange(0, 200, 2), color="0.4", label="label pixels")
    ax.axvline(
        named_distance,
        color="crimson",
        linestyle="--",
        label=f"'named' if within {named_distance:g}",
    )
    ax.set_yscale("log")
    ax.set_xlabel("RGB distance to the nearest official Cityscapes colour")
    ax.set_ylabel("pixels (log scale)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def colour_swatches(found: Sequence[tuple[tuple, int, str, float]], title: str) -> Figure:
    """Most frequent label colours (left swatch) beside the nearest official colour (right)."""
    table = {lb.name: lb.colour for lb in labels.LABELS}
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(found) + 1))
    for row, (colour, count, name, dist) in enumerate(found):
        y = len(found) - 1 - row
        ax.add_patch(Rectangle((0, y), 1, 0.9, color=np.array(colour) / 255.0))
        ax.add_patch(Rectangle((1.1, y), 1, 0.9, color=np.array(table[name]) / 255.0))
        ax.text(
            2.3,
            y + 0.45,
            f"{name}  (distance {dist:.0f}, {count:,} px)",
            va="center",
            fontsize="small",
        )
    ax.set_xlim(0, 7)
    ax.set_ylim(0, len(found))
    ax.set_xticks([0.5, 1.6], ["found", "official"])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig


def image_statistics(mean: np.ndarray, std: np.ndarray, title: str) -> Figure:
    """Per-channel photo mean and standard deviation as bars."""
    fig, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(3)
    ax.bar(
        x, mean, yerr=std, color=["tab:red", "tab:green", "tab:blue"], capsize=6, label="mean ± std"
    )
    ax.set_xticks(x, ["R", "G", "B"])
    ax.set_ylabel("pixel value (0-255)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def pair_highlight(
    photo: np.ndarray, label: np.ndarray, mask: np.ndarray | None, name: str, class_name: str = ""
) -> Figure:
    """Photo | label colours | the photo with one class's pixels bright and the rest dimmed."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.9))
    shown = photo if mask is None else np.where(mask[..., None], photo, photo // 4)
    share = "" if mask is None else f": {class_name}, {mask.mean():.1%} of the pixels"
    titles = ("photo", "label colours", f"highlight{share or ': none'}")
    for ax, image, title in zip(axes, (photo, label, shown), titles, strict=True):
        ax.imshow(image)
        ax.set_title(title, fontsize="small")
        ax.axis("off")
    fig.suptitle(name)
    fig.tight_layout()
    return fig
