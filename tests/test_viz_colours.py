"""Figures of notebook 02: they show the classes and numbers they are given."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import colour_fit, labels, runio, viz
from utils.colours import ColourMapping
from utils.viz import colours as colour_viz
from utils.viz.common import save_png


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """Noisy pixels around five official colours and black."""
    centres = np.concatenate([labels.train_colours()[[0, 2, 8, 10, 13]], [[0, 0, 0]]]).astype(float)
    rng = np.random.default_rng(0)
    noisy = centres[np.arange(3000) % len(centres)] + rng.normal(0, 5, (3000, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def kmeans(pixels: np.ndarray) -> ColourMapping:
    """A k-means mapping with one cluster too few (so something merges)."""
    return colour_fit.fit_kmeans(pixels, 5, seed=0)


def texts(fig: plt.Figure) -> str:
    """All text drawn in a figure (titles, labels, annotations, legends)."""
    return " ".join(t.get_text() for t in fig.findobj(plt.Text))


def test_k_curves_mark_the_elbow_and_the_classes(pixels: np.ndarray) -> None:
    rows = colour_fit.sweep(pixels, pixels, [2, 4, 6], seed=0)
    palette = colour_fit.agreement(ColourMapping.palette(), pixels)
    fig = colour_viz.k_curves(rows, palette, 4, "Choosing k")
    shown = texts(fig)
    assert "elbow: k = 4" in shown and f"{rows[-1]['num_classes']} cl." in shown
    plt.close(fig)


def test_centre_swatches_name_every_cluster(kmeans: ColourMapping) -> None:
    fig = colour_viz.centre_swatches(kmeans, "centres")
    shown = texts(fig)
    assert shown.count("nearest ") == 5
    for cluster in kmeans.info["clusters"]:
        assert cluster["nearest_official"] in shown
    plt.close(fig)


def test_mapping_agreement_matrix_labels_both_axes_with_void(
    pixels: np.ndarray, kmeans: ColourMapping
) -> None:
    palette = ColourMapping.palette()
    counts = colour_fit.mapping_agreement_counts(palette, kmeans, pixels)
    fig = colour_viz.mapping_agreement_matrix(counts, palette, kmeans, "agreement")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [*kmeans.class_names, "void"]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "void"
    plt.close(fig)


def test_examples_and_cloud_save_with_legends(
    tmp_path: Path, pixels: np.ndarray, kmeans: ColourMapping
) -> None:
    image = pixels[:1024].reshape(32, 32, 3)
    fig = colour_viz.mapping_examples([image], [ColourMapping.palette(), kmeans], ["a"], "ex")
    legend_names = {
        t.get_text()
        for lg in fig.legends + [a.get_legend() for a in fig.axes]
        if lg
        for t in lg.get_texts()
    }
    assert {"road", "car"} <= legend_names
    saved = viz.save_figure(fig, tmp_path, "02_examples")
    assert saved == tmp_path / "figures" / "02_examples.png" and saved.stat().st_size > 5_000
    fig = colour_viz.colour_cloud(pixels, "cloud", n_points=500)
    assert "sky" in texts(fig)
    plt.close("all")


def test_figures_are_saved_atomically_with_ordinary_permissions(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    saved = viz.save_figure(fig, tmp_path, "line")
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert saved.stat().st_mode & 0o777 == 0o666 & ~runio.current_umask()
    assert plt.fignum_exists(fig.number)  # save_figure leaves it open: the notebook shows it
    path = save_png(fig, tmp_path / "exact" / "name.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number)  # save_png closes a pyplot figure
    detached = Figure()
    detached.add_subplot().plot([0, 1])
    assert save_png(detached, tmp_path / "detached.png").stat().st_size > 1_000
    leftover = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftover == []
