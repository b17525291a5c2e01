"""Live views of the series' figures: ipywidgets controls that redraw a ``utils.viz`` figure.

Each builder returns a ``Browser``: its controls, the function that draws a figure for their
values, and the ``ipywidgets.Output`` it draws into. ``show`` puts one in a notebook: the live
widget when a person is looking (``utils.notebook.live()``), else the static figure for the
controls' starting values, saved to the run folder either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from utils import labels, metrics, notebook, runio
from utils.colours import ColourMapping
from utils.viz import common
from utils.viz import data as data_viz
from utils.viz import features as features_viz
from utils.viz import training as training_viz

NONE = "(none)"  # the "highlight nothing" choice
VIEWS = ("prediction", "truth", "error map", "overlay")  # what the epoch browser shows per model


@dataclass
class Browser:
    """Controls, the figure function they drive, and the output the figure is drawn into."""

    controls: dict[str, w.ValueWidget]
    draw: Callable[..., Figure]
    output: w.Output = field(default_factory=w.Output)
    figure: Figure | None = None
    redraws: int = 0

    def __post_init__(self) -> None:
        """Redraw whenever a control changes."""
        for control in self.controls.values():
            control.observe(lambda _change: self.update(), names="value")

    def values(self) -> dict:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> Figure:
        """Draw the figure for the current values into the output (closed for pyplot)."""
        fig = self.draw(**self.values())
        self.output.clear_output(wait=True)
        with self.output:
            display(fig)
        plt.close(fig)  # shown once, inside the output; not again at the end of the cell
        self.figure, self.redraws = fig, self.redraws + 1
        return fig

    @property
    def widget(self) -> w.Widget:
        """The controls above the output."""
        return w.VBox([w.HBox(list(self.controls.values())), self.output])


def show(browser: Browser, run_dir: str | os.PathLike, name: str) -> None:
    """The live widget when someone is looking, else the static figure; the figure saved either way.

    The saved figure, ``RUN_DIR/figures/<name>.png``, is drawn for the controls' starting values.
    """
    if notebook.live():
        browser.update()
        display(browser.widget)
        common.save_png(browser.figure, runio.figures_dir(run_dir) / f"{name}.png", dpi=110)
    else:
        common.save_figure(browser.draw(**browser.values()), run_dir, name)


def _dropdown(description: str, options: Sequence, value: object = None) -> w.Dropdown:
    """A dropdown with its label shown in full."""
    value = options[0] if value is None else value
    return w.Dropdown(
        options=list(options),
        value=value,
        description=description,
        style={"description_width": "initial"},
    )


def _epoch_at(epochs: Sequence[int], epoch: int) -> int:
    """The latest of ``epochs`` not after ``epoch`` (the first one if all are later)."""
    earlier = [e for e in epochs if e <= epoch]
    return max(earlier) if earlier else min(epochs)


def _view(
    view: str, photo: np.ndarray, truth: np.ndarray, pred: np.ndarray, colours: np.ndarray
) -> np.ndarray:
    """One model's panel: its prediction, the truth, its error map or its overlay."""
    if view == "truth":
        return labels.colourise(truth, colours)
    if view == "error map":
        return training_viz.error_image(truth, pred)
    if view == "overlay":
        return training_viz.overlay_image(photo, pred, colours)
    return labels.colourise(pred, colours)


def epoch_browser(
    photos: np.ndarray,
    truths: np.ndarray,
    preds: Mapping[str, Mapping[int, np.ndarray]],
    mapping: ColourMapping,
    names: Sequence[str],
) -> Browser:
    """Notebook 04: pick a validation image, slide through the epochs, models side by side.

    ``preds[model][epoch]`` holds the class ids of every image after that epoch; a model with
    fewer epochs shows its last one. The view toggles prediction, truth, error map, overlay.
    """
    last = max(max(by_epoch) for by_epoch in preds.values())

    def draw(image: int, epoch: int, view: str) -> Figure:
        photo, truth = photos[image], truths[image]
        panels, shown = {}, [truth]
        for model_name, by_epoch in preds.items():
            e = _epoch_at(list(by_epoch), epoch)
            pred = by_epoch[e][image]
            iou = metrics.per_image_iou(truth[None], pred[None], mapping.num_classes)[0]
            title = f"{model_name}, epoch {e}: {view}\n(image mIoU {iou:.2f})"
            panels[title] = _view(view, photo, truth, pred, mapping.display_colours)
            shown.append(pred)
        ids = [int(i) for i in np.unique(np.concatenate([np.ravel(a) for a in shown]))]
        return training_viz.model_panels(
            photo,
            panels,
            f"{names[image]} after epoch {epoch}",
            None if view == "error map" else mapping,
            [i for i in ids if i < mapping.num_classes],
        )

    controls = {
        "image": _dropdown("validation image", [(n, i) for i, n in enumerate(names)], 0),
        "epoch": w.IntSlider(value=last, min=1, max=last, description="epoch"),
        "view": w.ToggleButtons(options=list(VIEWS), value=VIEWS[0], description="show"),
    }
    return Browser(controls, draw)


def pair_browser(files: Sequence[Path], mapping: ColourMapping, highlight: str = NONE) -> Browser:
    """Notebook 01: browse the pair files and highlight one class's pixels (none if unknown)."""
    from utils import data

    choices = [NONE, *mapping.class_names]

    def draw(pair: int, highlight: str) -> Figure:
        photo, label = data.read_pair(files[pair])
        mask = None
        if highlight != NONE:
            mask = mapping.apply(label) == mapping.class_names.index(highlight)
        return data_viz.pair_highlight(photo, label, mask, f"{files[pair].name}", highlight)

    controls = {
        "pair": w.IntSlider(value=0, min=0, max=len(files) - 1, description="pair"),
        "highlight": _dropdown(
            "highlight class", choices, highlight if highlight in choices else NONE
        ),
    }
    return Browser(controls, draw)


def tsne_browser(
    embeddings: Mapping[str, np.ndarray],
    cell_classes: np.ndarray,
    regions: np.ndarray,
    class_names: Sequence[str],
    region_names: Sequence[str],
    colours: np.ndarray | None = None,
    highlight: str = NONE,
) -> Browser:
    """Notebook 05: a t-SNE plane, coloured by class or region, one class or region picked out.

    ``highlight`` is the starting choice (``"class: car"``, ``"region: top"``; none if unknown).
    """
    class_rgb = (labels.train_colours() if colours is None else np.asarray(colours)) / 255.0
    cmap = plt.get_cmap(features_viz.REGION_CMAP)
    region_rgb = np.asarray(cmap(np.arange(len(region_names)) % 10))[:, :3]
    present = [class_names[c] for c in np.unique(cell_classes)]
    choices = [NONE] + [f"class: {n}" for n in present] + [f"region: {n}" for n in region_names]

    def draw(embedding: str, highlight: str) -> Figure:
        kind, _, name = highlight.partition(": ")
        if kind == "region":
            point_colours = region_rgb[regions]
            mask = regions == list(region_names).index(name)
        else:
            point_colours = class_rgb[cell_classes]
            mask = None if highlight == NONE else cell_classes == list(class_names).index(name)
        shown = "" if mask is None else f", {highlight} ({mask.sum()} of {len(mask)} cells)"
        return features_viz.tsne_highlight(
            embeddings[embedding], point_colours, mask, f"{embedding}{shown}"
        )

    controls = {
        "embedding": _dropdown("weights", list(embeddings), list(embeddings)[-1]),
        "highlight": _dropdown("highlight", choices, highlight if highlight in choices else NONE),
    }
    return Browser(controls, draw)


def grad_cam_browser(
    net: object,
    photos: np.ndarray,
    truths: np.ndarray,
    mapping: ColourMapping,
    layers: Sequence[str],
    class_name: str,
    layer: str,
    image: int = 0,
) -> Browser:
    """Notebook 06: Grad-CAM of any class at any layer, for any of the images."""
    from utils import activations

    def draw(image: int, class_name: str, layer: str) -> Figure:
        c = mapping.class_names.index(class_name)
        cam = activations.grad_cam(net, photos[image], c, layer)[0]
        truth = truths[image]
        return features_viz.grad_cams(
            photos[image],
            truth,
            {class_name: cam},
            {class_name: truth == c},
            mapping.display_colours,
            title=f"Grad-CAM of image {image} at {layer}",
        )

    controls = {
        "image": w.IntSlider(value=image, min=0, max=len(photos) - 1, description="image"),
        "class_name": _dropdown("class", mapping.class_names, class_name),
        "layer": _dropdown("layer", layers, layer),
    }
    return Browser(controls, draw)
