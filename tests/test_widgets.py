"""The live views of utils.widgets, without a browser: build, change a control, see a redraw."""

from __future__ import annotations

from pathlib import Path

import ipywidgets
import matplotlib
import numpy as np
import pytest
from conftest import make_pair, tiny_unet, write_image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from utils import labels, notebook, widgets
from utils.colours import ColourMapping


def rendered(fig: Figure) -> np.ndarray:
    """The figure as drawn, RGBA pixels (the widgets close their pyplot figures once shown)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def changes(browser: widgets.Browser, control: str, value: object) -> bool:
    """Set one control; True if that redrew the figure and the picture differs."""
    before, count = rendered(browser.figure), browser.redraws
    browser.controls[control].value = value
    after = rendered(browser.figure)
    return browser.redraws == count + 1 and (before.shape != after.shape or (before != after).any())


@pytest.fixture
def mapping() -> ColourMapping:
    return ColourMapping.palette()


def test_epoch_browser_slides_through_epochs_and_views(mapping: ColourMapping) -> None:
    rng = np.random.default_rng(0)
    photos = rng.random((3, 16, 16, 3), dtype=np.float32)
    truths = rng.integers(0, 4, (3, 16, 16)).astype(np.uint8)
    truths[:, :2] = labels.IGNORE_ID
    preds = {
        "model1": {e: rng.integers(0, 4, (3, 16, 16)).astype(np.uint8) for e in (1, 2, 3)},
        "model2": {e: rng.integers(0, 4, (3, 16, 16)).astype(np.uint8) for e in (1, 2)},
    }
    browser = widgets.epoch_browser(photos, truths, preds, mapping, ["a.jpg", "b.jpg", "c.jpg"])
    assert browser.controls["epoch"].max == 3 and browser.values()["epoch"] == 3
    browser.update()
    titles = [ax.get_title() for ax in browser.figure.axes]
    assert titles[1].startswith("model1, epoch 3") and titles[2].startswith("model2, epoch 2")
    assert changes(browser, "epoch", 1)
    assert [ax.get_title() for ax in browser.figure.axes][2].startswith("model2, epoch 1")
    for view in ("truth", "error map", "overlay"):
        assert changes(browser, "view", view)
    assert changes(browser, "image", 2)
    assert browser.figure.get_suptitle() == "c.jpg after epoch 1"


def test_error_and_overlay_images() -> None:
    from utils.viz import training

    truth = np.array([[0, 1], [labels.IGNORE_ID, 2]], np.uint8)
    pred = np.array([[0, 2], [1, 2]], np.uint8)
    err = training.error_image(truth, pred)
    assert tuple(err[0, 0]) == training.ERROR_COLOURS["right"]
    assert tuple(err[0, 1]) == training.ERROR_COLOURS["wrong"]
    assert tuple(err[1, 0]) == training.ERROR_COLOURS["void"]
    over = training.overlay_image(np.zeros((2, 2, 3), np.uint8), pred, labels.train_colours(), 1.0)
    assert np.allclose(over * 255, labels.colourise(pred, labels.train_colours()), atol=1)


def test_pair_browser_highlights_a_class(tmp_path: Path, mapping: ColourMapping) -> None:
    road, car = (128, 64, 128), (0, 0, 142)
    files = [
        write_image(tmp_path / "1.jpg", make_pair(100, road)),
        write_image(tmp_path / "2.jpg", make_pair(160, car)),
    ]
    browser = widgets.pair_browser(files, mapping)
    browser.update()
    assert changes(browser, "highlight", "road")
    assert "road, 100.0% of the pixels" in browser.figure.axes[2].get_title()
    assert changes(browser, "pair", 1)
    assert "road, 0.0% of the pixels" in browser.figure.axes[2].get_title()


def test_tsne_browser_highlights_a_class_or_region(mapping: ColourMapping) -> None:
    rng = np.random.default_rng(1)
    emb = {"epoch 1": rng.normal(size=(60, 2)), "final model": rng.normal(size=(60, 2))}
    classes = rng.choice([0, 2, 13], 60)
    regions = rng.integers(0, 3, 60)
    browser = widgets.tsne_browser(
        emb, classes, regions, mapping.class_names, ["top", "middle", "bottom"]
    )
    assert list(browser.controls["highlight"].options) == [
        widgets.NONE,
        "class: road",
        "class: building",
        "class: car",
        "region: top",
        "region: middle",
        "region: bottom",
    ]
    browser.update()
    assert changes(browser, "highlight", "class: car")
    assert f"({(classes == 13).sum()} of 60 cells)" in browser.figure.axes[0].get_title()
    assert changes(browser, "highlight", "region: bottom")
    assert changes(browser, "embedding", "epoch 1")


def test_grad_cam_browser_changes_class_and_layer(mapping: ColourMapping) -> None:
    net = tiny_unet(num_classes=3, size=32)
    small = ColourMapping(
        method="test",
        class_names=mapping.class_names[:3],
        display_colours=mapping.display_colours[:3],
        centres=mapping.display_colours[:3],
        centre_ids=np.arange(3),
    )
    rng = np.random.default_rng(2)
    photos = rng.random((2, 32, 32, 3), dtype=np.float32)
    truths = rng.integers(0, 3, (2, 32, 32)).astype(np.uint8)
    layers = ["encoder_2", "bottleneck", "decoder_1"]
    browser = widgets.grad_cam_browser(net, photos, truths, small, layers, "road", "decoder_1")
    browser.update()
    assert changes(browser, "layer", "encoder_2")
    assert "at encoder_2" in browser.figure.get_suptitle()
    assert changes(browser, "class_name", "building")
    assert changes(browser, "image", 1)


def test_show_saves_the_figure_and_shows_the_widget_only_when_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: ColourMapping
) -> None:
    shown = []
    monkeypatch.setattr(widgets, "display", shown.append)
    photos = np.zeros((1, 8, 8, 3), np.float32)
    truths = np.zeros((1, 8, 8), np.uint8)
    browser = widgets.epoch_browser(photos, truths, {"m": {1: truths}}, mapping, ["x"])
    monkeypatch.setattr(notebook, "live", lambda: False)
    widgets.show(browser, tmp_path, "static")
    assert (tmp_path / "figures" / "static.png").stat().st_size > 1000
    assert shown == [] and browser.redraws == 0
    monkeypatch.setattr(notebook, "live", lambda: True)
    widgets.show(browser, tmp_path, "live")
    assert (tmp_path / "figures" / "live.png").stat().st_size > 1000 and browser.redraws == 1
    assert isinstance(shown[-1], ipywidgets.VBox) and shown[-1].children[1] is browser.output


def test_live_is_false_when_headless_or_outside_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(notebook.HEADLESS_ENV, raising=False)
    assert notebook.live() is False  # pytest is no IPython kernel
    monkeypatch.setenv(notebook.HEADLESS_ENV, "1")
    assert notebook.live() is False


def test_live_in_a_kernel_with_an_inline_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    class Shell:
        kernel = object()

    monkeypatch.delenv(notebook.HEADLESS_ENV, raising=False)
    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(
        matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline"
    )
    assert notebook.live() is True
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")  # papermill under the runner
    assert notebook.live() is False
    monkeypatch.setenv(notebook.HEADLESS_ENV, "1")
    monkeypatch.setattr(
        matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline"
    )
    assert notebook.live() is False
