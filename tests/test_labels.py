"""The label table: the one source of class names and colours."""

import numpy as np

from utils import labels


def test_nineteen_train_classes_in_order() -> None:
    assert labels.NUM_CLASSES == 19
    assert labels.CLASS_NAMES[0] == "road" and labels.CLASS_NAMES[-1] == "bicycle"
    assert [lb.train_id for lb in labels.TRAIN_LABELS] == list(range(19))
    assert tuple(labels.train_colours()[labels.class_id("car")]) == (0, 0, 142)


def test_reference_colours_are_distinct_and_keep_train_ids() -> None:
    colours, ids, names = labels.reference_colours()
    assert len({tuple(c) for c in colours}) == len(colours)
    grey = {tuple(c): i for c, i in zip(colours, ids, strict=True)}[(153, 153, 153)]
    assert grey == labels.class_id("pole")  # pole and polegroup share grey; pole wins
    assert grey != labels.IGNORE_ID
    assert {tuple(c): i for c, i in zip(colours, ids, strict=True)}[(0, 0, 0)] == labels.IGNORE_ID
    assert "parking" in names


def test_colourise_maps_void_to_black() -> None:
    ids = np.array([[0, 13], [255, 10]], np.uint8)
    rgb = labels.colourise(ids)
    assert tuple(rgb[0, 0]) == (128, 64, 128) and tuple(rgb[1, 0]) == (0, 0, 0)
