"""Bottleneck cells, their labels and regions, stratified sampling, t-SNE and separation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_unet

from utils import features
from utils.labels import IGNORE_ID

SIZE = 32


def test_cell_labels_majority_purity_and_void() -> None:
    ids = np.zeros((1, 8, 8), np.uint8)
    ids[0, :4, 4:] = 2  # top-right cell: pure class 2
    ids[0, 4:, :4] = 1
    ids[0, 4, :3] = 0  # bottom-left: 13 of 16 class 1
    ids[0, 4:, 4:] = IGNORE_ID
    ids[0, 7, 7] = 2  # bottom-right: 15 of 16 void -> void cell
    majority, purity = features.cell_labels(ids, (2, 2), num_classes=3)
    np.testing.assert_array_equal(majority[0], [[0, 2], [1, IGNORE_ID]])
    np.testing.assert_allclose(purity[0], [[1, 1], [13 / 16, 0]])
    with pytest.raises(ValueError, match="multiple of the grid"):
        features.cell_labels(ids, (3, 3), 3)


def test_void_pixels_do_not_vote() -> None:
    ids = np.full((1, 4, 4), IGNORE_ID, np.uint8)
    ids[0, :3, :] = 1  # 12 of 16 labelled, all class 1
    majority, purity = features.cell_labels(ids, (1, 1), 3)
    assert majority[0, 0, 0] == 1 and purity[0, 0, 0] == 1


def test_region_labels() -> None:
    grid = features.region_grid((8, 8), "grid3x3")
    names = features.REGION_NAMES["grid3x3"]
    assert names[grid[0, 0]] == "top-left" and names[grid[7, 7]] == "bottom-right"
    assert names[grid[4, 4]] == "centre" and names[grid[0, 4]] == "top-centre"
    assert sorted(np.unique(grid)) == list(range(9))
    bands = features.region_grid((4, 6), "bands")
    assert [features.REGION_NAMES["bands"][b] for b in bands[:, 0]] == [
        "top (sky)",
        "middle",
        "middle",
        "bottom (road)",
    ]
    assert (bands == bands[:, :1]).all()
    with pytest.raises(ValueError, match="region scheme"):
        features.region_grid((4, 4), "quadrants")


def test_bottleneck_cells_shapes_and_labels() -> None:
    rng = np.random.default_rng(0)
    photos = rng.random((3, SIZE, SIZE, 3), dtype=np.float32)
    ids = np.zeros((3, SIZE, SIZE), np.uint8)
    ids[:, SIZE // 2 :] = 1  # bottom half class 1
    ids[2, :4, :4] = 2  # first cell of image 2: class 2
    cells = features.bottleneck_cells(tiny_unet(), photos, ids, 3, scheme="bands")
    assert cells.grid == (8, 8) and len(cells) == 3 * 64
    assert cells.features.shape == (192, 16) and cells.features.dtype == np.float32
    first = (cells.image == 2) & (cells.row == 0) & (cells.col == 0)
    assert cells.labels[first].tolist() == [2]
    np.testing.assert_array_equal(cells.labels[cells.row >= 4], 1)
    assert set(cells.regions[cells.row == 7]) == {2} and cells.region_names[2] == "bottom (road)"
    sub = cells.subset(np.array([0, 5]))
    assert len(sub) == 2 and sub.features.shape == (2, 16)


def test_stratified_sample_balances_and_caps() -> None:
    classes = np.array([0] * 900 + [1] * 80 + [2] * 15 + [IGNORE_ID] * 50)
    pick = features.stratified_sample(classes, 120, seed=1)
    counts = np.bincount(classes[pick])
    assert len(pick) == 120 and len(set(pick)) == 120
    assert counts.tolist() == [53, 52, 15]  # rare class whole, the rest split the budget
    assert IGNORE_ID not in classes[pick]
    assert len(features.stratified_sample(classes, 10_000)) == 995  # cap above supply: all
    np.testing.assert_array_equal(pick, features.stratified_sample(classes, 120, seed=1))
    eligible = np.arange(len(classes)) % 2 == 0
    assert eligible[features.stratified_sample(classes, 50, eligible=eligible)].all()


def clusters(n_per: int, dims: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (4, dims))
    y = np.repeat(np.arange(4), n_per)
    return (centres[y] + rng.normal(0, spread, (len(y), dims))).astype(np.float32), y


def test_separation_on_separable_and_random_data() -> None:
    x, y = clusters(50, 60, 1.0)
    emb = features.embed(x, perplexity=20, seed=0)
    assert emb.shape == (200, 2)
    good = features.separation(x, emb, y, class_names=["a", "b", "c", "d"])
    assert good["knn_accuracy_2d"] > 0.95 and good["knn_accuracy_original"] > 0.95
    assert good["silhouette_original"] > 0.5 and good["majority_share"] == 0.25
    assert good["knn_recall_2d"]["a"] > 0.9 and good["class_counts"]["d"] == 50
    noise = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    bad = features.separation(noise, features.embed(noise, perplexity=20), y)
    assert bad["knn_accuracy_2d"] < 0.45 and bad["knn_accuracy_original"] < 0.45
    assert abs(bad["silhouette_original"]) < 0.1


def test_embed_is_seeded_and_handles_few_points() -> None:
    x, _ = clusters(5, 8, 1.0)
    a, b = features.embed(x, perplexity=30, seed=3), features.embed(x, perplexity=30, seed=3)
    np.testing.assert_array_equal(a, b)
    assert features.effective_perplexity(20, 30) < 20 / 3


def test_grid_of_rebuilds_one_image() -> None:
    ids = np.zeros((2, SIZE, SIZE), np.uint8)
    ids[1, :4, 4:8] = 2
    photos = np.zeros((2, SIZE, SIZE, 3), np.float32)
    cells = features.bottleneck_cells(tiny_unet(), photos, ids, 3)
    grid = cells.grid_of(cells.labels, 1)
    assert grid.shape == (8, 8) and grid[0, 1] == 2 and (grid.sum() == 2)
    np.testing.assert_array_equal(cells.grid_of(cells.regions, 0), features.region_grid((8, 8)))


def test_tsne_figure_legends_name_present_classes_in_official_colours() -> None:
    from matplotlib.colors import to_rgb

    from utils import labels
    from utils.viz import features as features_viz

    rng = np.random.default_rng(0)
    classes = np.array([0, 13, 10] * 10)
    emb = rng.normal(size=(30, 2))
    fig = features_viz.tsne_panels(
        [("early", emb), ("final", emb)], classes, classes % 3, labels.CLASS_NAMES, ["a", "b", "c"]
    )
    legend = fig.axes[2].get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert names == ["road", "sky", "car"]
    car = legend.legend_handles[2].get_facecolor()
    assert np.allclose(to_rgb(car), labels.train_colours()[13] / 255)
    assert [t.get_text() for t in fig.axes[3].get_legend().get_texts()] == ["a", "b", "c"]
