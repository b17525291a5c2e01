"""Notebook 01's one-pass statistics and integrity report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import make_pair, write_image

from utils import explore, labels

ROAD = labels.TRAIN_LABELS[labels.class_id("road")].colour
SKY = labels.TRAIN_LABELS[labels.class_id("sky")].colour


def _sky_over_road(path: Path) -> Path:
    image = make_pair(photo_value=100, label_colour=ROAD, size=32)
    image[:8, 32:] = SKY
    image[-4:, 32:] = 0  # void strip at the bottom
    return write_image(path, image)


def test_scan_counts_classes_priors_and_problems(tmp_path: Path) -> None:
    good = [_sky_over_road(tmp_path / f"{i}.png") for i in range(3)]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    square = write_image(tmp_path / "square.png", np.zeros((16, 16, 3), np.uint8))
    result = explore.scan([*good, bad, square], progress=False)

    assert (result.files, result.readable) == (5, 3)
    assert {Path(f).name for f, _ in result.problems} == {"bad.jpg", "square.png"}
    shares = result.class_shares()
    assert np.isclose(shares.sum(), 1.0)
    assert np.isclose(shares[labels.class_id("sky")], 8 / 28)
    assert np.isclose(result.void_share(), 4 / 32)
    prior = result.spatial_prior()
    assert prior.shape == (labels.NUM_CLASSES, explore.PRIOR_SIZE, explore.PRIOR_SIZE)
    assert prior[labels.class_id("sky"), 0].min() == 1.0  # sky on top in every image
    assert prior[labels.class_id("sky"), -1].max() == 0.0
    assert np.allclose(result.photo_mean, 100, atol=1)
    summary = result.summary()
    assert summary["classes_by_share"][:2] == ["road", "sky"]
    assert summary["named_pixel_share"] > 0.99  # flat PNG colours are exactly official


def test_frequent_colours_name_the_nearest_official_class(tmp_path: Path) -> None:
    result = explore.scan([_sky_over_road(tmp_path / "a.png")], progress=False)
    top = explore.frequent_colours(result, 3)
    assert [name for _, _, name, _ in top][:2] == ["road", "sky"]
    assert all(dist < 8 for _, _, _, dist in top)
