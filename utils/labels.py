"""The official Cityscapes label table: the one place that knows class names, colours and ids.

Everything that needs a colour or a class name asks this module (see DESIGN.md). The table is
the one published in the Cityscapes scripts (``cityscapesscripts/helpers/labels.py``): 34 labels,
19 of which are used for training (``train_id`` 0..18); the others map to ``IGNORE_ID``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

IGNORE_ID = 255  # class id of void pixels: no loss, no metric


class Label(NamedTuple):
    """One row of the official label table."""

    name: str
    id: int
    train_id: int
    category: str
    colour: tuple[int, int, int]


LABELS: tuple[Label, ...] = (
    Label("unlabeled", 0, IGNORE_ID, "void", (0, 0, 0)),
    Label("ego vehicle", 1, IGNORE_ID, "void", (0, 0, 0)),
    Label("rectification border", 2, IGNORE_ID, "void", (0, 0, 0)),
    Label("out of roi", 3, IGNORE_ID, "void", (0, 0, 0)),
    Label("static", 4, IGNORE_ID, "void", (0, 0, 0)),
    Label("dynamic", 5, IGNORE_ID, "void", (111, 74, 0)),
    Label("ground", 6, IGNORE_ID, "void", (81, 0, 81)),
    Label("road", 7, 0, "flat", (128, 64, 128)),
    Label("sidewalk", 8, 1, "flat", (244, 35, 232)),
    Label("parking", 9, IGNORE_ID, "flat", (250, 170, 160)),
    Label("rail track", 10, IGNORE_ID, "flat", (230, 150, 140)),
    Label("building", 11, 2, "construction", (70, 70, 70)),
    Label("wall", 12, 3, "construction", (102, 102, 156)),
    Label("fence", 13, 4, "construction", (190, 153, 153)),
    Label("guard rail", 14, IGNORE_ID, "construction", (180, 165, 180)),
    Label("bridge", 15, IGNORE_ID, "construction", (150, 100, 100)),
    Label("tunnel", 16, IGNORE_ID, "construction", (150, 120, 90)),
    Label("pole", 17, 5, "object", (153, 153, 153)),
    Label("polegroup", 18, IGNORE_ID, "object", (153, 153, 153)),
    Label("traffic light", 19, 6, "object", (250, 170, 30)),
    Label("traffic sign", 20, 7, "object", (220, 220, 0)),
    Label("vegetation", 21, 8, "nature", (107, 142, 35)),
    Label("terrain", 22, 9, "nature", (152, 251, 152)),
    Label("sky", 23, 10, "sky", (70, 130, 180)),
    Label("person", 24, 11, "human", (220, 20, 60)),
    Label("rider", 25, 12, "human", (255, 0, 0)),
    Label("car", 26, 13, "vehicle", (0, 0, 142)),
    Label("truck", 27, 14, "vehicle", (0, 0, 70)),
    Label("bus", 28, 15, "vehicle", (0, 60, 100)),
    Label("caravan", 29, IGNORE_ID, "vehicle", (0, 0, 90)),
    Label("trailer", 30, IGNORE_ID, "vehicle", (0, 0, 110)),
    Label("train", 31, 16, "vehicle", (0, 80, 100)),
    Label("motorcycle", 32, 17, "vehicle", (0, 0, 230)),
    Label("bicycle", 33, 18, "vehicle", (119, 11, 32)),
)

TRAIN_LABELS: tuple[Label, ...] = tuple(
    sorted((lb for lb in LABELS if lb.train_id != IGNORE_ID), key=lambda lb: lb.train_id)
)
NUM_CLASSES = len(TRAIN_LABELS)  # 19
CLASS_NAMES: tuple[str, ...] = tuple(lb.name for lb in TRAIN_LABELS)
VOID_COLOUR = (0, 0, 0)
# A label pixel this close (Euclidean RGB) to an official colour counts as "named": its colour
# tells us its class. JPEG blur moves the rest towards their neighbours (notebooks 01 and 02).
NAMED_DISTANCE = 10.0


def train_colours() -> np.ndarray:
    """The 19 training-class colours as a ``(19, 3)`` uint8 array, indexed by train id."""
    return np.array([lb.colour for lb in TRAIN_LABELS], dtype=np.uint8)


def class_id(name: str) -> int:
    """Train id of a class name (e.g. ``"car"`` -> 13); raises ``KeyError`` naming the choices."""
    for lb in TRAIN_LABELS:
        if lb.name == name:
            return lb.train_id
    raise KeyError(f"unknown class {name!r}; choose from {', '.join(CLASS_NAMES)}")


def reference_colours() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Distinct official colours, their train ids (void -> ``IGNORE_ID``) and label names.

    Colours shared by several labels (black for the void group, grey for pole/polegroup) appear
    once; a colour that any training label uses keeps that label's train id.
    """
    by_colour: dict[tuple[int, int, int], tuple[int, str]] = {}
    for lb in LABELS:
        known = by_colour.get(lb.colour)
        if known is None or (known[0] == IGNORE_ID and lb.train_id != IGNORE_ID):
            by_colour[lb.colour] = (lb.train_id, lb.name)
    colours = np.array(list(by_colour), dtype=np.uint8)
    ids = np.array([v[0] for v in by_colour.values()], dtype=np.uint8)
    names = [v[1] for v in by_colour.values()]
    return colours, ids, names


def colourise(class_ids: np.ndarray, colours: np.ndarray | None = None) -> np.ndarray:
    """Class-id image -> RGB image in display colours (default: official); void is black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    palette = train_colours() if colours is None else np.asarray(colours, dtype=np.uint8)
    table[: len(palette)] = palette
    table[IGNORE_ID] = VOID_COLOUR
    return table[np.asarray(class_ids, dtype=np.uint8)]
