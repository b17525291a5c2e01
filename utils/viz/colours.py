"""Figures of notebook 02: label colour cloud, choosing k, cluster swatches, agreement, examples,
label rims."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from utils import labels, rims
from utils.colours import ColourMapping
from utils.viz.common import class_legend

VOID_NAME = "void"


def colour_cloud(pixels: np.ndarray, title: str, n_points: int = 6000, seed: int = 0) -> Figure:
    """Sampled label colours in RGB space (3-D and the R-B plane), official colours marked."""
    rng = np.random.default_rng(seed)
    x = np.asarray(pixels).reshape(-1, 3)
    x = x[rng.choice(len(x), size=min(n_points, len(x)), replace=False)]
    official = labels.train_colours()
    fig = plt.figure(figsize=(13, 5.5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.scatter(*x.T, c=x / 255.0, s=2, alpha=0.35, depthshade=False)
    ax3.scatter(*official.T, c=official / 255.0, s=70, edgecolors="black", depthshade=False)
    ax3.set_xlabel("R")
    ax3.set_ylabel("G")
    ax3.set_zlabel("B")
    ax3.set_title("RGB cube (points: sampled pixels, circles: official)", fontsize="small")
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.scatter(x[:, 0], x[:, 2], c=x / 255.0, s=2, alpha=0.35)
    ax2.scatter(official[:, 0], official[:, 2], c=official / 255.0, s=70, edgecolors="black")
    for colour, name in zip(official, labels.CLASS_NAMES, strict=True):
        ax2.annotate(
            name,
            (colour[0], colour[2]),
            fontsize="x-small",
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax2.set_xlabel("R")
    ax2.set_ylabel("B")
    ax2.set_title("Projection on the R-B plane", fontsize="small")
    class_legend(ax2, ncols=1)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def k_curves(rows: Sequence[dict], palette: dict, chosen_k: int, title: str) -> Figure:
    """Inertia (elbow) and agreement across k, with the palette mapping as the reference."""
    ks = [r["k"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    ax1.plot(ks, [r["inertia_per_pixel"] for r in rows], "o-", color="tab:blue")
    ax1.axvline(chosen_k, color="grey", linestyle="--", label=f"elbow: k = {chosen_k}")
    ax1.set_xlabel("k (clusters)")
    ax1.set_ylabel("mean squared RGB distance to the centre")
    ax1.set_title("Elbow: k-means inertia per pixel")
    ax1.legend()
    curves = [
        ("named_agreement", "named pixels: official class", "tab:green"),
        ("mean_class_recall", "mean per-class recall (named)", "tab:orange"),
        ("palette_agreement", "all pixels: same class as palette", "tab:purple"),
    ]
    for key, label, colour in curves:
        ax2.plot(ks, [r[key] for r in rows], "o-", color=colour, label=f"k-means, {label}")
        ax2.axhline(palette[key], color=colour, linestyle=":", linewidth=1)
    for r in rows:
        ax2.annotate(
            f"{r['num_classes']} cl.",
            (r["k"], r["mean_class_recall"]),
            fontsize="x-small",
            xytext=(0, -11),
            textcoords="offset points",
            ha="center",
        )
    ax2.set_xlabel("k (clusters)")
    ax2.set_ylabel("agreement")
    ax2.set_ylim(0, 1.03)
    ax2.set_title("Agreement (dotted: palette mapping; labels: output classes)")
    ax2.legend(fontsize="small", loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def centre_swatches(mapping: ColourMapping, title: str) -> Figure:
    """Each k-means centre beside the official colour it is named after, with share and class."""
    clusters = mapping.info["clusters"]
    ref, _, ref_names = labels.reference_colours()
    by_name = dict(zip(ref_names, ref, strict=True))
    fig, ax = plt.subplots(figsize=(7.5, 0.36 * len(clusters) + 1.2))
    for row, c in enumerate(clusters):
        y = len(clusters) - 1 - row
        ax.add_patch(Rectangle((0, y), 1, 0.85, color=np.array(c["centre"]) / 255.0, ec="black"))
        ax.add_patch(
            Rectangle((1.15, y), 1, 0.85, color=by_name[c["nearest_official"]] / 255.0, ec="black")
        )
        share = f"{c['share']:.1%}" if "share" in c else ""
        text = (
            f"{share:>6}  nearest {c['nearest_official']} (distance {c['distance']:.0f})"
            f"  ->  {c['class']}"
        )
        ax.text(2.35, y + 0.42, text, va="center", fontsize="small")
    ax.text(0.5, len(clusters) + 0.1, "centre", ha="center", fontsize="small")
    ax.text(1.65, len(clusters) + 0.1, "official", ha="center", fontsize="small")
    ax.set_xlim(0, 9)
    ax.set_ylim(-0.2, len(clusters) + 0.6)
    ax.axis("off")
    absorbed = mapping.info.get("absorbed", {})
    lost = ", ".join(f"{o}->{n}" for o, n in absorbed.items()) or "none"
    ax.set_title(f"{title}\nabsorbed official classes: {lost}", fontsize="small", wrap=True)
    fig.tight_layout()
    return fig


def mapping_agreement_matrix(
    counts: np.ndarray,
    rows: ColourMapping,
    cols: ColourMapping,
    title: str,
    min_share: float = 0.01,
) -> Figure:
    """Where each ``rows`` class's pixels go among the ``cols`` classes (row shares; void last).

    ``counts`` is ``colour_fit.mapping_agreement_counts(rows, cols, pixels)``.
    """
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    row_names = [*rows.class_names, VOID_NAME]
    col_names = [*cols.class_names, VOID_NAME]
    black = np.zeros((1, 3), np.uint8)
    row_colours = np.concatenate([rows.display_colours, black]) / 255.0
    col_colours = np.concatenate([cols.display_colours, black]) / 255.0
    fig, ax = plt.subplots(figsize=(0.42 * len(col_names) + 3.5, 0.36 * len(row_names) + 2))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, j in zip(*np.nonzero(share >= min_share), strict=True):
        ax.text(
            j,
            i,
            f"{share[i, j]:.0%}",
            ha="center",
            va="center",
            fontsize=6,
            color="white" if share[i, j] > 0.6 else "black",
        )
    for i, colour in enumerate(row_colours):  # class colour strips outside the axes
        ax.add_patch(Rectangle((-1.0, i - 0.5), 0.45, 1, color=colour, clip_on=False))
    for j, colour in enumerate(col_colours):
        ax.add_patch(Rectangle((j - 0.5, -1.0), 1, 0.45, color=colour, clip_on=False))
    ax.set_xticks(range(len(col_names)), col_names, rotation=60, ha="right", fontsize="small")
    ax.set_yticks(range(len(row_names)), row_names, fontsize="small")
    ax.tick_params(axis="y", pad=16)
    ax.set_xlabel(f"{cols.method} class")
    ax.set_ylabel(f"{rows.method} class")
    fig.colorbar(image, ax=ax, label="share of the row's pixels")
    ax.set_title(title, pad=18)
    fig.tight_layout()
    return fig


def mapping_examples(
    label_images: Sequence[np.ndarray],
    mappings: Sequence[ColourMapping],
    names: Sequence[str],
    title: str,
) -> Figure:
    """Rows of label colours | each mapping's class ids in its display colours, with legends."""
    n_cols = 1 + len(mappings)
    fig, axes = plt.subplots(
        len(label_images),
        n_cols,
        figsize=(3.2 * n_cols, 3.2 * len(label_images) + 2.2),
        squeeze=False,
    )
    present = [set() for _ in mappings]
    for row, image, name in zip(axes, label_images, names, strict=True):
        row[0].imshow(image)
        row[0].set_title(f"{name}: label colours", fontsize="small")
        for m, (ax, mapping) in enumerate(zip(row[1:], mappings, strict=True)):
            ids = mapping.apply(image)
            ax.imshow(labels.colourise(ids, mapping.display_colours))
            ax.set_title(f"{mapping_title(mapping)} (void black)", fontsize="small")
            present[m] |= set(np.unique(ids).tolist()) - {labels.IGNORE_ID}
    for ax in axes.ravel():
        ax.axis("off")
    for ax, mapping, ids in zip(axes[-1, 1:], mappings, present, strict=True):
        class_legend(
            ax,
            sorted(ids),
            mapping.class_names,
            mapping.display_colours,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.05),
            ncols=2,
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def rim_shares(counts: dict[str, np.ndarray], classes: Sequence[str], title: str) -> Figure:
    """Bars of each class's share of rim pixels (``utils.rims.rim_counts``) in its colour; the
    ``classes`` that ``--clean-rims`` names alone (and the secondary score) are hatched."""
    share = counts["share"]
    colours = labels.train_colours() / 255.0
    fig, ax = plt.subplots(figsize=(10, 5.5))
    y = np.arange(len(labels.CLASS_NAMES))
    bars = ax.barh(y, share * 100, color=colours, edgecolor="black", linewidth=0.4)
    for bar, name, n, after in zip(
        bars, labels.CLASS_NAMES, counts["images"], counts["after"], strict=True
    ):
        bar.set_hatch("//" if name in classes else "")
        ax.text(1.01, bar.get_y() + bar.get_height() / 2, f"in {n:.0f} images, {after:.0f} after",
                transform=ax.get_yaxis_transform(), fontsize="x-small", va="center")  # fmt: skip
    ax.set_yticks(y, labels.CLASS_NAMES)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the class's labelled pixels removed by a 3x3 opening (rims)")
    ax.set_ylabel("class")
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="rim classes (--clean-rims alone)")],
              loc="lower right", fontsize="small")  # fmt: skip
    ax.set_title(title)
    fig.tight_layout()
    return fig


def rim_examples(
    label_images: Sequence[np.ndarray], mapping: ColourMapping, names: Sequence[str],
    classes: Sequence[str], title: str,
) -> Figure:  # fmt: skip
    """Rows of label colours | class ids | the rims of ``classes`` in white over faded ids."""
    fig, axes = plt.subplots(len(label_images), 3, figsize=(10, 3.3 * len(label_images) + 1.6),
                             squeeze=False)  # fmt: skip
    ids_of = rims.class_ids_of(classes, mapping.class_names)
    present = set()
    for row, image, name in zip(axes, label_images, names, strict=True):
        ids = mapping.apply(image)
        shown = labels.colourise(ids, mapping.display_colours)
        rim = rims.rim_pixels(ids, ids_of).numpy()
        faded = (shown * 0.35).astype(np.uint8)
        faded[rim] = 255
        present |= set(np.unique(ids).tolist()) - {labels.IGNORE_ID}
        for ax, img, sub in zip(row, (image, shown, faded), ("label colours", mapping_title(
                mapping), f"rims ({rim.sum()} pixels, white)"), strict=True):  # fmt: skip
            ax.imshow(img)
            ax.set_title(f"{name}: {sub}", fontsize="small")
            ax.axis("off")
    class_legend(axes[-1, 1], sorted(present), mapping.class_names, mapping.display_colours,
                 loc="upper center", bbox_to_anchor=(0.5, -0.05), ncols=3)  # fmt: skip
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def mapping_title(mapping: ColourMapping) -> str:
    """Short name of a mapping: "palette" or "k-means k=13"."""
    k = mapping.info.get("k")
    return f"k-means k={k}" if mapping.method == "kmeans" and k else mapping.method
