"""K-means colour mappings: sampling, fitting, naming, merges and agreement measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import make_pair, write_image

from utils import colour_fit, labels
from utils.colours import ColourMapping


def official(*names: str) -> np.ndarray:
    """Official colours of some training classes, ``(n, 3)`` float."""
    return labels.train_colours()[[labels.class_id(n) for n in names]].astype(float)


def noisy_pixels(centres: np.ndarray, n: int = 6000, sigma: float = 4.0, seed: int = 0):
    """``n`` pixels spread evenly over ``centres``, with Gaussian noise, as uint8."""
    rng = np.random.default_rng(seed)
    picks = np.arange(n) % len(centres)
    noisy = centres[picks] + rng.normal(0, sigma, (n, 3))
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def test_kmeans_is_deterministic_for_a_seed_and_round_trips(tmp_path: Path) -> None:
    pixels = noisy_pixels(official("road", "car", "sky", "vegetation", "building"), sigma=20)
    a = colour_fit.fit_kmeans(pixels, 4, seed=3)
    b = colour_fit.fit_kmeans(pixels, 4, seed=3)
    assert a.to_dict() == b.to_dict()
    assert np.array_equal(a.lut, b.lut)
    loaded = ColourMapping.load(a.save(tmp_path / "mapping.json"))
    assert loaded.to_dict() == a.to_dict() and np.array_equal(loaded.lut, a.lut)


def test_kmeans_recovers_and_names_well_separated_colours() -> None:
    names = ("road", "car", "sky", "vegetation", "person")
    mapping = colour_fit.fit_kmeans(noisy_pixels(official(*names)), 5, seed=0)
    assert set(mapping.class_names) == set(names)
    assert mapping.class_names == tuple(n for n in labels.CLASS_NAMES if n in names)
    # official colours absent from the data still fall somewhere, but no two present ones merge
    assert not any(len(set(m) & set(names)) > 1 for m in mapping.info["merged"].values())
    assert np.array_equal(mapping.display_colours, official(*mapping.class_names))
    assert mapping.info["k"] == 5 and mapping.info["sample_pixels"] == 6000
    assert sum(c["share"] for c in mapping.info["clusters"]) == pytest.approx(1.0, abs=1e-4)


def test_too_few_clusters_are_reported_as_merges() -> None:
    # car (0,0,142) and motorcycle (0,0,230) are close; with one cluster short they share one
    names = ("road", "vegetation", "car", "motorcycle")
    mapping = colour_fit.fit_kmeans(noisy_pixels(official(*names)), 3, seed=0)
    assert len(mapping.class_names) == 3 and {"road", "vegetation"} < set(mapping.class_names)
    into = "car" if "car" in mapping.class_names else "motorcycle"
    assert {"car", "motorcycle"} <= set(mapping.info["merged"][into])
    lost = "motorcycle" if into == "car" else "car"
    assert mapping.info["absorbed"][lost] == into


def test_clusters_sharing_a_name_become_one_class_and_void_clusters_ignore() -> None:
    road = official("road")[0]
    centres = [road + 6, road - 6, official("sky")[0], (2.0, 1.0, 3.0)]  # two roads, sky, black
    mapping = colour_fit.mapping_from_centres(np.array(centres))
    assert mapping.class_names == ("road", "sky")
    assert mapping.centre_ids.tolist() == [0, 0, 1, labels.IGNORE_ID]
    assert [c["class"] for c in mapping.info["clusters"]] == ["road", "road", "sky", "void"]
    ids = mapping.apply(np.array([road + 6, road - 6, (0, 0, 0)], np.uint8))
    assert ids.tolist() == [0, 0, labels.IGNORE_ID]


def test_agreement_is_perfect_for_the_palette_and_counts_absorbed_classes() -> None:
    pixels = noisy_pixels(official("road", "car", "truck", "sky"), sigma=2)
    palette = ColourMapping.palette()
    exact = colour_fit.agreement(palette, pixels)
    assert exact["named_agreement"] == 1.0 and exact["palette_agreement"] == 1.0
    assert exact["named_share"] > 0.99
    # A mapping that knows road, car and sky only: truck pixels fall to car
    merged = colour_fit.mapping_from_centres(official("road", "car", "sky"))
    assert merged.info["absorbed"]["truck"] == "car"
    assert merged.info["void_classed"]["unlabeled"] == "car"  # no centre near black
    result = colour_fit.agreement(merged, pixels, palette)
    assert result["class_recall"]["truck"] == 0.0 and result["class_recall"]["car"] == 1.0
    assert result["named_agreement"] == pytest.approx(0.75, abs=0.01)
    assert result["mean_class_recall"] == pytest.approx(0.75, abs=0.01)
    assert result["num_classes"] == 3


def test_mapping_agreement_counts_every_pixel_once() -> None:
    pixels = noisy_pixels(official("road", "car", "truck", "sky"), n=4000, sigma=2)
    rows, cols = ColourMapping.palette(), colour_fit.mapping_from_centres(official("road", "sky"))
    matrix = colour_fit.mapping_agreement_counts(rows, cols, pixels)
    assert matrix.shape == (rows.num_classes + 1, cols.num_classes + 1)
    assert matrix.sum() == len(pixels)
    assert matrix[labels.class_id("road"), 0] == 1000


def test_elbow_finds_the_bend() -> None:
    ks = [2, 4, 6, 8, 10, 12]
    assert colour_fit.elbow(ks, [100, 40, 12, 10, 9, 8]) == 6


def pair_files(folder: Path, colours_: list[tuple[int, int, int]]) -> list[Path]:
    """Small pair files with flat label halves, one colour each."""
    return [
        write_image(folder / f"{i}.jpg", make_pair(label_colour=c, size=32))
        for i, c in enumerate(colours_, start=1)
    ]


def test_pixel_sample_is_reproducible_and_spread_over_images(tmp_path: Path) -> None:
    files = pair_files(tmp_path / "train", [tuple(c) for c in labels.train_colours()[:8]])
    a = colour_fit.sample_label_pixels(files, 4, 400, seed=1, progress=False)
    b = colour_fit.sample_label_pixels(files, 4, 400, seed=1, progress=False)
    assert a.shape == (400, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert len(np.unique(ColourMapping.palette().apply(a))) == 4  # one colour per image
    fit, held_out = colour_fit.disjoint_samples(files, 4, 400, seed=1, progress=False)
    palette = ColourMapping.palette()
    assert not set(palette.apply(fit).tolist()) & set(palette.apply(held_out).tolist())
    with pytest.raises(ValueError, match="no files"):
        colour_fit.sample_label_pixels([], 4, 400)


def test_cli_fits_a_kmeans_mapping(tmp_path: Path) -> None:
    chosen = [tuple(int(v) for v in c) for c in official("road", "sky", "vegetation")]
    pair_files(tmp_path / "data" / "train", chosen * 4)
    out = tmp_path / "run" / "mapping.json"
    argv = ["--data", str(tmp_path / "data"), "--method", "kmeans", "--k", "3"]
    assert colour_fit.main([*argv, "--images", "20", "--pixels", "3000", "--out", str(out)]) == 0
    mapping = ColourMapping.load(out)
    assert mapping.method == "kmeans" and set(mapping.class_names) == {"road", "sky", "vegetation"}
    assert mapping.info["k"] == 3


def test_cli_writes_a_palette_mapping(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "mapping.json"
    assert colour_fit.main(["--method", "palette", "--out", str(out)]) == 0
    assert ColourMapping.load(out).to_dict() == ColourMapping.palette().to_dict()
    assert "19 classes" in capsys.readouterr().out


def test_cli_refuses_kmeans_without_data_and_names_a_missing_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = str(tmp_path / "mapping.json")
    with pytest.raises(SystemExit):
        colour_fit.main(["--method", "kmeans", "--out", out])
    assert "--method kmeans needs --data DIR" in capsys.readouterr().err
    assert colour_fit.main(["--data", str(tmp_path / "none"), "--method", "kmeans", "--out", out])
    assert "error:" in capsys.readouterr().err and not (tmp_path / "mapping.json").exists()
