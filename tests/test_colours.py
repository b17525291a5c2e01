"""The colour mapping core: palette lookup through the quantised-RGB table, saving and loading."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from utils import colours, labels, runio
from utils.colours import BIN_RADIUS, ColourMapping

BLOCK = 16  # side of one flat colour block in the synthetic label image (two JPEG MCUs)
EDGE = 3  # pixels next to a block border that JPEG may blur into the neighbour


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    """Round-trip an RGB image through JPEG (4:2:0 chroma, as the Kaggle files)."""
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


def block_image(colour_rows: list[list[tuple[int, int, int]]]) -> np.ndarray:
    """An RGB image of flat ``BLOCK`` x ``BLOCK`` blocks, one per colour."""
    rows = [
        np.concatenate([np.full((BLOCK, BLOCK, 3), c, np.uint8) for c in row], axis=1)
        for row in colour_rows
    ]
    return np.concatenate(rows, axis=0)


def interior(shape: tuple[int, int]) -> np.ndarray:
    """Mask of pixels at least ``EDGE`` away from any block border."""
    inside = np.zeros(BLOCK, bool)
    inside[EDGE:-EDGE] = True
    return np.outer(np.tile(inside, shape[0] // BLOCK), np.tile(inside, shape[1] // BLOCK))


def test_jpeg_blurred_synthetic_label_maps_back_to_its_ids() -> None:
    train = [tuple(int(v) for v in c) for c in labels.train_colours()]
    void = [labels.VOID_COLOUR]
    grid = [train[:10], train[10:] + void]  # 19 training colours and black void, 2 rows of 10
    truth = np.repeat(
        np.repeat(np.array([list(range(10)), [*range(10, 19), labels.IGNORE_ID]]), BLOCK, 0),
        BLOCK,
        1,
    ).astype(np.uint8)
    noisy = jpeg(block_image(grid))
    assert (noisy != block_image(grid)).any()  # JPEG really changed colours
    ids = ColourMapping.palette().apply(noisy)
    inside = interior(truth.shape)
    assert np.array_equal(ids[inside], truth[inside])
    assert (ids == truth).mean() > 0.9  # block borders too, mostly (94.8 % at quality 75)


def test_void_colours_map_to_ignore_id() -> None:
    void = [lb.colour for lb in labels.LABELS if lb.train_id == labels.IGNORE_ID]
    void = [c for c in void if c != (153, 153, 153)]  # polegroup shares pole's grey: pole wins
    mapping = ColourMapping.palette()
    ids = mapping.apply(np.array(void, np.uint8))
    assert ids.tolist() == [labels.IGNORE_ID] * len(void)
    assert mapping.apply(np.array([[153, 153, 153]], np.uint8))[0] == labels.class_id("pole")


def test_every_official_training_colour_maps_to_its_train_id() -> None:
    mapping = ColourMapping.palette()
    assert mapping.apply(labels.train_colours()).tolist() == list(range(labels.NUM_CLASSES))
    assert mapping.num_classes == labels.NUM_CLASSES
    assert mapping.official_ids().tolist() == list(range(labels.NUM_CLASSES))


def test_lut_agrees_with_direct_nearest_colour() -> None:
    mapping = ColourMapping.palette()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200_000, 3), dtype=np.uint8)
    lut, direct = mapping.apply(x), mapping.apply_direct(x)
    d = np.sqrt(((x[:, None].astype(np.float32) - mapping.centres[None]) ** 2).sum(-1))
    d.sort(axis=1)
    clear = d[:, 1] - d[:, 0] > 2 * BIN_RADIUS  # farther from a boundary than a bin is wide
    assert clear.mean() > 0.7
    assert np.array_equal(lut[clear], direct[clear])
    # Uniform random colours crowd the boundaries between close official colours (the dark
    # blues): 97.9 % agree. Colours near the official ones, as in real labels, agree on > 99 %.
    assert (lut == direct).mean() > 0.97
    near = mapping.centres[rng.integers(0, len(mapping.centres), 200_000)]
    near = np.clip(near + rng.normal(0, 12, near.shape), 0, 255).astype(np.uint8)
    assert (mapping.apply(near) == mapping.apply_direct(near)).mean() > 0.99


def test_tf_apply_matches_numpy_apply() -> None:
    tf = pytest.importorskip("tensorflow")
    mapping = ColourMapping.palette()
    x = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert np.array_equal(mapping.tf_apply(tf.constant(x)).numpy(), mapping.apply(x))


def test_apply_rejects_non_colour_input() -> None:
    mapping = ColourMapping.palette()
    with pytest.raises(ValueError, match="uint8 colours"):
        mapping.apply(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        mapping.apply(np.zeros((4, 4), np.uint8))


def odd_mapping() -> ColourMapping:
    """A mapping with centres that are not whole numbers, as k-means produces."""
    return ColourMapping(
        method="kmeans",
        centres=[[127.123456, 63.9, 128.5], [1.0 / 3, 2.0 / 3, 0.1], [69.77, 130.2, 179.9]],
        centre_ids=[0, labels.IGNORE_ID, 1],
        class_names=["road", "sky"],
        display_colours=[labels.train_colours()[0], labels.train_colours()[10]],
        info={"k": 3, "seed": 0, "merged": {"road": ["road", "sidewalk"]}},
    )


@pytest.mark.parametrize("make", [ColourMapping.palette, odd_mapping])
def test_save_load_round_trips_exactly(tmp_path: Path, make) -> None:
    mapping = make()
    path = mapping.save(tmp_path / "run" / "mapping.json")
    loaded = ColourMapping.load(path)
    assert loaded.to_dict() == mapping.to_dict()
    assert np.array_equal(loaded.centres, mapping.centres)
    assert np.array_equal(loaded.lut, mapping.lut)
    assert loaded.class_names == mapping.class_names and loaded.info == mapping.info
    x = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(loaded.apply(x), mapping.apply(x))
    assert not list(path.parent.glob("*.tmp"))  # written atomically
    assert path.stat().st_mode & 0o777 == 0o666 & ~runio.current_umask()  # not mkstemp's 0600


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        ColourMapping.load(tmp_path / "nothing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        ColourMapping.load(bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"method": "palette"}))
    with pytest.raises(ValueError, match="partial.json: not a colour mapping"):
        ColourMapping.load(partial)


def test_resolve_mapping_file_then_run_folder_then_palette(tmp_path: Path) -> None:
    mapping, source = colours.resolve_mapping("", tmp_path)
    assert mapping.method == "palette" and source == "palette"
    path = odd_mapping().save(tmp_path / "m.json")
    assert colours.resolve_mapping(path, tmp_path)[0].class_names == ("road", "sky")
    odd_mapping().save(tmp_path / "mapping.json")  # notebook 02's hand-over
    mapping, source = colours.resolve_mapping(None, tmp_path)
    assert mapping.class_names == ("road", "sky") and source == str(tmp_path / "mapping.json")


def test_to_official_maps_output_classes_to_train_ids() -> None:
    mapping = odd_mapping()
    assert mapping.official_ids().tolist() == [0, labels.class_id("sky")]
    ids = np.array([0, 1, labels.IGNORE_ID], np.uint8)
    assert mapping.to_official(ids).tolist() == [0, labels.class_id("sky"), labels.IGNORE_ID]
