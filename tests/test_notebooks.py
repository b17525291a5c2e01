"""The whole series, headless, on a tiny synthetic sample: every notebook runs, records numbers."""

from __future__ import annotations

import math
from pathlib import Path

import papermill as pm
import pytest

from utils import runio, series

# Small sizes so the series finishes in a few minutes on 2 CPU cores; passed only to the
# notebooks that declare each name.
TINY = {
    "IMAGE_SIZE": 64,
    "EPOCHS": 2,
    "BATCH_SIZE": 8,
    "MAX_POINTS": 400,
    "N_IMAGES": 4,
    "SAMPLE_IMAGES": 8,
    "SAMPLE_PIXELS": 20000,
    "K_RANGE": "4,13,19",
    "BROWSE_IMAGES": 4,
}


@pytest.fixture(scope="module")
def series_run(tiny_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run every notebook once on the tiny sample; the run folder for the tests below."""
    notebooks = series.list_notebooks()
    declared = set().union(*(pm.inspect_notebook(str(nb)) for nb in notebooks))
    params = {k: v for k, v in TINY.items() if k in declared}
    out = tmp_path_factory.mktemp("series") / "run"
    if "SNAPSHOT_DIR" in declared:  # keep the repo's semantic_output/ folders untouched
        params["SNAPSHOT_DIR"] = str(out / "snapshots")
    series.run_series(str(tiny_sample), out, notebooks, params)
    return out


@pytest.mark.slow
def test_every_notebook_ran(series_run: Path) -> None:
    executed = sorted(p.name for p in (series_run / "executed").glob("*.ipynb"))
    assert executed == [p.name for p in series.list_notebooks()]


@pytest.mark.slow
def test_snapshots_went_to_the_run_folder(series_run: Path) -> None:
    names = {p.name for p in (series_run / "snapshots").glob("*.png")}
    assert {"output_1_epo.png", "output_1_model_2.png"} <= names


@pytest.mark.slow
def test_01_reports_the_sample(series_run: Path) -> None:
    summary = runio.load_json(series_run / "metrics" / "01_data_exploration.json")
    assert summary["readable"] == summary["files"] == 32 and not summary["problems"]
    assert {"road", "sky", "building"} <= set(summary["classes_by_share"][:6])
    for name in ("01_class_frequencies", "01_spatial_priors", "01_sample_pairs"):
        assert (series_run / "figures" / f"{name}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_05_and_06_record_separation_and_grad_cam(series_run: Path) -> None:
    tsne = runio.load_json(series_run / "metrics" / "05_bottleneck_tsne.json")
    assert 0 < tsne["points"] <= TINY["MAX_POINTS"]
    assert set(tsne["separation"]) == {"epoch 1", "final model"}
    for scores in tsne["separation"].values():
        assert 0.0 <= scores["knn_accuracy_2d"] <= 1.0
    cams = runio.load_json(series_run / "metrics" / "06_activation_heatmaps.json")
    layers = {row["layer"]: row for row in cams["mass_by_layer"]}
    assert {"bottleneck", "decoder_1"} <= set(layers)
    for row in layers.values():  # a barely trained model may have only empty maps at a layer:
        if row["empty_maps"] == row["images"]:  # then it has no share, and the record says so
            assert math.isnan(row["mass_share"]) and math.isnan(row["lift"])
        else:
            assert 0.0 <= row["mass_share"] <= 1.0
    assert 0.0 <= layers["decoder_1"]["mass_share"] <= 1.0  # the last layer always has a map
    for name in ("05_tsne", "05_knn_recall", "06_stage_activations", "06_grad_cam"):
        assert (series_run / "figures" / f"{name}.png").is_file()


@pytest.mark.slow
def test_headless_widget_cells_save_their_figures(series_run: Path) -> None:
    for name in WIDGET_NOTEBOOKS.values():
        assert (series_run / "figures" / f"{name}.png").stat().st_size > 10_000, name


NOISE = ("IProgress not found", "absl::InitializeLog", "cuInit", "oneDNN", "cudart_stub")


@pytest.mark.slow
def test_executed_notebooks_are_free_of_start_up_noise(series_run: Path) -> None:
    """No TensorFlow start-up lines or tqdm complaints in any notebook's output."""
    import nbformat

    for path in sorted((series_run / "executed").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        text = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)
        assert not [n for n in NOISE if n in text], f"{path.name}: {text[:2000]}"


@pytest.mark.parametrize("path", series.list_notebooks(), ids=lambda p: p.name)
def test_notebook_structure(path: Path) -> None:
    """Clean, Colab-ready, and every parameter line is one papermill can read."""
    import re

    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit without outputs"
    assert '"google.colab" in sys.modules' in code[0].source, "first cell sets up Colab"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    written = re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", tagged[0].source, re.M)
    assert {"DATA_DIR", "RUN_DIR", "SEED"} <= set(written)
    assert list(pm.inspect_notebook(str(path))) == written
    assert "colab.research.google.com" in nb.cells[0].source, "title cell has the Colab badge"
    assert nb.metadata["kernelspec"]["name"] == "python3"


SETUP_CALL = "notebook.setup(SEED)"


@pytest.mark.parametrize("path", series.list_notebooks(), ids=lambda p: p.name)
def test_setup_runs_before_anything_loads_tensorflow(path: Path) -> None:
    """The cell after ``parameters`` is the set-up call, so TF's start-up lines stay out."""
    import nbformat

    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    at = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    assert code[at + 1].source.startswith("from utils import notebook\n")
    assert SETUP_CALL in code[at + 1].source
    assert sum(SETUP_CALL in c.source for c in code) == 1
    assert not any("import" in c.source and "utils" in c.source for c in code[1:at])


WIDGET_NOTEBOOKS = {"01": "01_pair_browser", "04": "04_epoch_browser", "05": "05_tsne_browser"}
WIDGET_NOTEBOOKS["06"] = "06_grad_cam_browser"


@pytest.mark.parametrize("number", sorted(WIDGET_NOTEBOOKS))
def test_browsing_notebooks_show_a_widget(number: str) -> None:
    """One cell shows a live view (utils.widgets.show), which saves its figure headless."""
    import nbformat

    path = next(p for p in series.list_notebooks() if p.name.startswith(number))
    sources = [c.source for c in nbformat.read(path, as_version=4).cells]
    call = f'widgets.show(browser, RUN_DIR, "{WIDGET_NOTEBOOKS[number]}")'
    assert sum(call in source for source in sources) == 1


def test_make_run_writes_the_run_folder_the_notebooks_read() -> None:
    """After ``make run``, JupyterLab's notebooks find its data, mapping and models."""
    import re

    from conftest import ROOT

    make_run = re.search(r"^RUN\s*\?=\s*(\S+)\s*$", (ROOT / "Makefile").read_text(), re.M)
    assert make_run, "Makefile sets RUN ?= <folder>"
    for path in series.list_notebooks():
        run_dir = pm.inspect_notebook(str(path))["RUN_DIR"]["default"].strip("\"'")
        assert (path.parent / run_dir).resolve() == (ROOT / make_run.group(1)).resolve(), path.name
