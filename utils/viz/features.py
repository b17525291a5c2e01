"""Figures of notebooks 05-06: cell labels, t-SNE scatters, kNN recall, heat maps, Grad-CAM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from utils import labels
from utils.viz.common import class_legend

HEAT_CMAP = "inferno"
HEAT_ALPHA = 0.8  # opacity of the hottest heat-map pixels over the photo
REGION_CMAP = "tab10"
POINT_SIZE = 4.0


def _colours(colours: np.ndarray | None) -> np.ndarray:
    """Display colours as floats in [0, 1] (default: the official 19)."""
    return (labels.train_colours() if colours is None else np.asarray(colours)) / 255.0


def _region_colours(n: int) -> np.ndarray:
    """One qualitative colour per region."""
    return np.asarray(plt.get_cmap(REGION_CMAP)(np.arange(n) % 10))


def cell_labels(
    photo: np.ndarray,
    ids: np.ndarray,
    majority: np.ndarray,
    purity: np.ndarray,
    regions: np.ndarray,
    region_names: Sequence[str],
    colours: np.ndarray | None = None,
    title: str = "How bottleneck cells are labelled",
) -> Figure:
    """Photo with the cell grid | ground truth | cell majority class (purity in %) | regions."""
    rows, cols = majority.shape
    h, w = ids.shape
    palette = labels.train_colours() if colours is None else np.asarray(colours)
    fig, axes = plt.subplots(1, 4, figsize=(15, 4.2))
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    axes[0].imshow(photo)
    for r in range(1, rows):
        axes[0].axhline(r * h / rows - 0.5, color="white", linewidth=0.5)
    for c in range(1, cols):
        axes[0].axvline(c * w / cols - 0.5, color="white", linewidth=0.5)
    axes[0].set_title(f"photo, {rows}x{cols} bottleneck cells")
    axes[1].imshow(labels.colourise(ids, palette))
    axes[1].set_title("ground truth")
    axes[2].imshow(labels.colourise(majority, palette), extent=extent)
    for r in range(rows):
        for c in range(cols):
            if majority[r, c] != labels.IGNORE_ID:
                x, y = (c + 0.5) * w / cols - 0.5, (r + 0.5) * h / rows - 0.5
                axes[2].text(
                    x, y, f"{purity[r, c]:.0%}", ha="center", va="center", fontsize=5, color="white"
                )
    axes[2].set_title("cell majority class (purity)")
    region_rgb = _region_colours(len(region_names))[regions][..., :3]
    axes[3].imshow(region_rgb, extent=extent)
    axes[3].set_title("cell region")
    axes[3].legend(
        handles=[
            Patch(color=_region_colours(len(region_names))[i], label=n)
            for i, n in enumerate(region_names)
        ],
        fontsize="x-small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tsne_panels(
    rows: Sequence[tuple[str, np.ndarray]],
    cell_classes: np.ndarray,
    regions: np.ndarray,
    class_names: Sequence[str],
    region_names: Sequence[str],
    colours: np.ndarray | None = None,
    title: str = "t-SNE of bottleneck cells",
) -> Figure:
    """One row per embedding (e.g. early checkpoint, final model): coloured by class | region."""
    fig, axes = plt.subplots(len(rows), 2, figsize=(12, 5 * len(rows)), squeeze=False)
    class_rgb = _colours(colours)
    region_rgb = _region_colours(len(region_names))
    order = np.random.default_rng(0).permutation(len(cell_classes))  # no class drawn on top
    for (name, emb), (ax_c, ax_r) in zip(rows, axes, strict=True):
        ax_c.scatter(*emb[order].T, s=POINT_SIZE, c=class_rgb[cell_classes[order]], linewidths=0)
        ax_r.scatter(*emb[order].T, s=POINT_SIZE, c=region_rgb[regions[order]], linewidths=0)
        ax_c.set_title(f"{name}: coloured by majority class")
        ax_r.set_title(f"{name}: coloured by region of the frame")
        for ax in (ax_c, ax_r):
            ax.set_xlabel("t-SNE 1")
            ax.set_ylabel("t-SNE 2")
            ax.set_xticks([])
            ax.set_yticks([])
    present = [int(c) for c in np.unique(cell_classes)]
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.04), "fontsize": "x-small"}
    class_legend(axes[-1, 0], present, class_names, colours, ncol=4, **below)
    axes[-1, 1].legend(
        handles=[Patch(color=region_rgb[i], label=n) for i, n in enumerate(region_names)],
        ncol=3,
        **below,
    )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def knn_recall(
    recalls: Mapping[str, Mapping[str, float]],
    class_names: Sequence[str],
    colours: np.ndarray | None = None,
    baseline: float | None = None,
    title: str = "kNN class recall in the t-SNE plane",
) -> Figure:
    """Grouped bars: per class, the kNN recall of each embedding (lighter = earlier)."""
    names = [n for n in class_names if any(n in r for r in recalls.values())]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(names) + 2), 4))
    width = 0.8 / len(recalls)
    rgb = _colours(colours)
    index = {n: i for i, n in enumerate(class_names)}
    for k, (model, rec) in enumerate(recalls.items()):
        alpha = 0.35 + 0.65 * (k + 1) / len(recalls)
        ax.bar(
            np.arange(len(names)) + (k - (len(recalls) - 1) / 2) * width,
            [rec.get(n, 0) for n in names],
            width,
            color=[rgb[index[n]] for n in names],
            alpha=alpha,
            edgecolor="black",
            linewidth=0.4,
            label=model,
        )
    if baseline is not None:
        ax.axhline(
            baseline,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"majority-class share {baseline:.0%}",
        )
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the class's cells whose kNN vote is right")
    ax.set_xlabel("class")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def _overlay(ax: plt.Axes, photo: np.ndarray, heat: np.ndarray) -> plt.cm.ScalarMappable:
    """Photo with a [0, 1] heat map on top, opaque where hot, clear where cold; for a colour bar."""
    cmap = plt.get_cmap(HEAT_CMAP)
    rgba = cmap(np.clip(heat, 0, 1))
    rgba[..., 3] = HEAT_ALPHA * np.sqrt(np.clip(heat, 0, 1))  # weak heat lets the photo show
    ax.imshow(photo)
    ax.imshow(rgba)
    ax.set_xticks([])
    ax.set_yticks([])
    return plt.cm.ScalarMappable(plt.Normalize(0, 1), cmap)


def stage_heatmaps(
    photo: np.ndarray,
    rows: Mapping[str, Mapping[str, np.ndarray]],
    column_titles: Mapping[str, str] | None = None,
    title: str = "Activations from fine to coarse",
) -> Figure:
    """Photo, then one heat map per layer (columns, fine to coarse); one row per reduction."""
    layers = list(next(iter(rows.values())))
    fig, axes = plt.subplots(
        len(rows),
        len(layers) + 1,
        figsize=(2.4 * (len(layers) + 1) + 1, 2.7 * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for (row_name, maps), ax_row in zip(rows.items(), axes, strict=True):
        ax_row[0].imshow(photo)
        ax_row[0].set_title("photo", fontsize="small")
        ax_row[0].set_ylabel(row_name)
        ax_row[0].set_xticks([])
        ax_row[0].set_yticks([])
        for ax, layer in zip(ax_row[1:], layers, strict=True):
            im = _overlay(ax, photo, maps[layer])
            ax.set_title((column_titles or {}).get(layer, layer), fontsize="small")
    fig.colorbar(im, ax=axes, shrink=0.8, label="activation (scaled to [0, 1] per map)")
    fig.suptitle(title)
    return fig


def grad_cams(
    photo: np.ndarray,
    ids: np.ndarray,
    cams: Mapping[str, np.ndarray],
    masks: Mapping[str, np.ndarray],
    colours: np.ndarray | None = None,
    title: str = "Grad-CAM per class",
) -> Figure:
    """Photo | ground truth | one Grad-CAM per class, the class's true pixels outlined."""
    n = len(cams) + 2
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 1, 3.2), layout="constrained")
    axes[0].imshow(photo)
    axes[0].set_title("photo", fontsize="small")
    palette = labels.train_colours() if colours is None else np.asarray(colours)
    axes[1].imshow(labels.colourise(ids, palette))
    axes[1].set_title("ground truth", fontsize="small")
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax, (name, cam) in zip(axes[2:], cams.items(), strict=True):
        im = _overlay(ax, photo, cam)
        mask = masks[name]
        if mask.any():
            ax.contour(mask, levels=[0.5], colors="cyan", linewidths=0.8)
        total = cam.sum()
        if not mask.any():
            note = "not in this image"
        elif total == 0:
            note = "empty map"
        else:
            note = f"{(cam * mask).sum() / total:.0%} of mass\non {mask.mean():.1%} of pixels"
        ax.set_title(f"{name}: {note}", fontsize="small")
    fig.colorbar(im, ax=axes, shrink=0.8, label="Grad-CAM (scaled to [0, 1])")
    fig.suptitle(f"{title} (cyan: the class's ground-truth pixels)")
    return fig


def mass_by_layer(stats: Sequence[Mapping], class_name: str, title: str | None = None) -> Figure:
    """Bars: Grad-CAM mass share inside the class's pixels for each layer, pixel share dashed."""
    fig, ax = plt.subplots(figsize=(1.1 * len(stats) + 2.5, 3.8))
    names = [s["layer"] for s in stats]
    ax.bar(
        names,
        [s["mass_share"] for s in stats],
        color="tab:orange",
        edgecolor="black",
        linewidth=0.4,
        label="Grad-CAM mass on the class's pixels",
    )
    ax.axhline(
        np.nanmean([s["pixel_share"] for s in stats]),
        color="grey",
        linestyle="--",
        label="the class's share of pixels",
    )
    ax.set_ylim(0, 1)
    ax.set_xlabel("layer the Grad-CAM is taken at")
    ax.set_ylabel("share (mean over images)")
    ax.set_title(title or f"Grad-CAM for {class_name}: which layer localises best")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def tsne_highlight(
    emb: np.ndarray, point_colours: np.ndarray, mask: np.ndarray | None, title: str
) -> Figure:
    """One t-SNE plane: every point in its colour, or only the ``mask`` points over grey ones."""
    fig, ax = plt.subplots(figsize=(6.5, 6))
    emb, point_colours = np.asarray(emb), np.asarray(point_colours)
    if mask is None:
        ax.scatter(*emb.T, s=POINT_SIZE, c=point_colours, linewidths=0)
    else:
        ax.scatter(*emb[~mask].T, s=POINT_SIZE, c="0.85", linewidths=0)
        ax.scatter(*emb[mask].T, s=3 * POINT_SIZE, c=point_colours[mask], linewidths=0)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    fig.tight_layout()
    return fig
