"""Notebook 02 end to end on the tiny synthetic sample, saving a k-means mapping for training."""

from __future__ import annotations

from pathlib import Path

import pytest

from utils import runio, series
from utils.colours import ColourMapping

SMALL = {"SAMPLE_IMAGES": 8, "SAMPLE_PIXELS": 20_000, "K_RANGE": "4,13,19", "METHOD": "kmeans"}


@pytest.mark.slow
def test_notebook_02_measures_both_methods_and_saves_the_mapping(
    tiny_sample: Path, tmp_path: Path
) -> None:
    notebook = series.select(series.list_notebooks(), only=["02"])
    series.run_series(str(tiny_sample), tmp_path, notebook, SMALL)
    metrics = runio.load_json(tmp_path / "metrics" / "02_colour_clustering.json")
    assert metrics["palette"]["named_agreement"] >= 0.999  # nearest official colour, by design
    for k in ("4", "13", "19"):
        row = metrics["kmeans"][k]
        assert 0 < row["named_agreement"] <= 1 and row["num_classes"] <= int(k)
        assert isinstance(row["absorbed"], dict)
    assert metrics["kmeans"]["4"]["absorbed"]  # 4 clusters cannot hold 19 classes
    mapping = ColourMapping.load(tmp_path / "mapping.json")
    assert mapping.method == "kmeans" and mapping.info["k"] == 13
    assert (
        mapping.num_classes
        == metrics["saved_num_classes"]
        == metrics["kmeans"]["13"]["num_classes"]
    )
    assert (tmp_path / "figures" / "02_choosing_k.png").stat().st_size > 10_000
