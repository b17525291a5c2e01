"""Label rims (utils.rims): thin bands of a blob class become void for training, nothing else."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from utils import checks, config, data, labels, rims, train
from utils.colours import ColourMapping

ROAD, POLE, CAR, TRUCK = (labels.class_id(n) for n in ("road", "pole", "car", "truck"))
VOID = labels.IGNORE_ID


def street() -> np.ndarray:
    """16x16 ids: road above void, a 2-pixel truck rim between them, a 5x5 truck, a thin pole."""
    ids = np.full((16, 16), ROAD, np.uint8)
    ids[12:, :] = VOID  # the ego vehicle's bonnet
    ids[10:12, :] = TRUCK  # the rim JPEG blur paints between road and black
    ids[2:7, 2:7] = TRUCK  # a real (small) truck
    ids[1:9, 12] = POLE  # a real one-pixel pole
    return ids


def test_rim_pixels_marks_the_thin_band_and_not_the_truck_or_the_pole() -> None:
    rim = rims.rim_pixels(street(), [TRUCK]).numpy()
    expected = np.zeros((16, 16), bool)
    expected[10:12, :] = True
    np.testing.assert_array_equal(rim, expected)


def test_without_rims_voids_the_rim_only_and_is_stable() -> None:
    ids = street()
    clean = rims.without_rims(ids, [TRUCK]).numpy()
    assert clean.dtype == np.uint8
    assert (clean[10:12] == VOID).all()
    np.testing.assert_array_equal(clean[:10], ids[:10])  # the truck and the pole are kept
    np.testing.assert_array_equal(clean[12:], ids[12:])
    again = rims.without_rims(clean, [TRUCK]).numpy()  # an opening is idempotent
    np.testing.assert_array_equal(again, clean)


def test_classes_not_named_keep_their_thin_pixels() -> None:
    ids = street()
    np.testing.assert_array_equal(rims.without_rims(ids, []).numpy(), ids)
    assert not rims.rim_pixels(ids, [CAR]).numpy().any()  # no car in the picture
    assert rims.rim_pixels(ids, [POLE]).numpy()[1:9, 12].all()  # named: the pole would go


def test_batched_ids_give_the_per_image_masks() -> None:
    one, two = street(), np.rot90(street()).copy()
    batch = rims.rim_pixels(np.stack([one, two]), [TRUCK]).numpy()
    assert batch.shape == (2, 16, 16)
    np.testing.assert_array_equal(batch[0], rims.rim_pixels(one, [TRUCK]).numpy())
    np.testing.assert_array_equal(batch[1], rims.rim_pixels(two, [TRUCK]).numpy())


def test_the_mapper_decodes_colours_then_voids_the_rims() -> None:
    mapping = ColourMapping.palette()
    colours = labels.colourise(street())  # void back to black
    truck = rims.class_ids_of(["truck"], mapping.class_names)
    mapper = rims.rim_free_mapper(mapping.tf_apply, truck)
    got = mapper(colours).numpy()
    assert (got[10:12] == VOID).all() and (got[2:7, 2:7] == TRUCK).all()


def test_class_ids_of_reads_kmeans_names() -> None:
    names = ["road", "truck", "car#2", "truck#2"]
    assert rims.class_ids_of(["truck"], names) == [1, 3]
    assert rims.class_ids_of([], names) == []


def test_an_unknown_class_is_named_before_training() -> None:
    with pytest.raises(checks.ParameterError, match="clean_rims.*'lorry'.*choose from road"):
        train.TrainConfig(variant="model2", clean_rims=("truck", "lorry")).check()
    with pytest.raises(checks.ParameterError, match="clean_rims='truck': must be a list"):
        train.TrainConfig(variant="model2", clean_rims="truck").check()
    cfg = train.TrainConfig(variant="model2", clean_rims=["truck"]).check()
    assert cfg.clean_rims == ("truck",)


def test_real_training_labels_lose_their_rims_and_validation_keeps_them(real_data) -> None:  # noqa: ANN001
    import tensorflow as tf

    mapping = ColourMapping.palette()
    splits = data.find_dataset(real_data)
    splits = dataclasses.replace(splits, train=splits.train[:48], val=splits.train[:48])
    plain = train.TrainConfig(variant="model2", augment="none", max_train_images=48).check()
    clean = dataclasses.replace(plain, clean_rims=rims.RIM_CLASSES).check()
    before, after = (train.prepare(splits, mapping, c) for c in (plain, clean))
    ids = rims.class_ids_of(rims.RIM_CLASSES, mapping.class_names)
    # The same files as training and as validation: only the training labels change.
    truck = labels.class_id("truck")
    assert after.class_counts[truck] < 0.6 * before.class_counts[truck]  # most truck were rims
    road = labels.class_id("road")
    assert after.class_counts[road] == before.class_counts[road]  # other classes untouched
    for _, y in after.train_ds:
        assert not tf.reduce_any(rims.rim_pixels(y, ids)).numpy()
    val = np.concatenate([y.numpy() for _, y in after.val_ds])
    assert rims.rim_pixels(val, ids).numpy().any()  # scoring keeps the labels as decoded


def test_rim_counts_per_class() -> None:
    counts = rims.rim_counts([street(), street()], labels.NUM_CLASSES)
    assert counts["pixels"][TRUCK] == 2 * (2 * 16 + 25)
    assert counts["rims"][TRUCK] == 2 * 2 * 16
    assert counts["images"][TRUCK] == counts["after"][TRUCK] == 2
    assert counts["rims"][POLE] == counts["pixels"][POLE] == 2 * 8  # one pixel wide
    assert counts["after"][POLE] == 0 and counts["images"][CAR] == 0
    assert counts["share"][TRUCK] == pytest.approx(32 / 57) and counts["share"][CAR] == 0
    small = street()[:8]  # another size, and chunks of one: the same counts per image
    mixed = rims.rim_counts([street(), small, street()], labels.NUM_CLASSES, chunk=1)
    alone = rims.rim_counts([small], labels.NUM_CLASSES)
    for key in ("pixels", "rims", "images", "after"):
        np.testing.assert_array_equal(mixed[key], counts[key] + alone[key])


def test_the_cli_flag_alone_means_the_measured_rim_classes() -> None:
    def parsed(*flags: str) -> tuple[str, ...]:
        args = train.parse_args(["--data", "d", "--out", "o", *flags])
        return config.from_args(args).clean_rims

    assert parsed() == ()
    assert parsed("--clean-rims") == rims.RIM_CLASSES
    assert parsed("--clean-rims", "truck", "bus") == ("truck", "bus")
    with pytest.raises(checks.ParameterError, match="clean_rims.*'lorry'"):
        parsed("--clean-rims", "lorry")


def test_rim_pixels_equal_a_per_class_opening_by_scipy() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 6, (2, 10, 10)).astype(np.uint8)
    ids = np.kron(blocks, np.ones((3, 3), np.uint8))  # 3x3 blocks, some merged into regions
    ids[rng.random(ids.shape) < 0.1] = 7  # thin specks and lines of a seventh class
    named = [1, 3, 7]
    expected = np.zeros(ids.shape, bool)
    for c in named:
        mask = ids == c
        for i in range(len(ids)):  # 'nearest' borders: a window sees only the image itself
            eroded = ndimage.minimum_filter(mask[i], 3, mode="nearest")
            expected[i] |= mask[i] & ~ndimage.maximum_filter(eroded, 3, mode="nearest")
    np.testing.assert_array_equal(rims.rim_pixels(ids, named).numpy(), expected)
    assert expected.any() and (~expected & np.isin(ids, named)).any()  # both cases occur
