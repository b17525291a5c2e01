"""Scoring at native resolution and flip test-time augmentation, on hand-made examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import write_image

from utils import evaluate, inference, labels, metrics
from utils.colours import ColourMapping

ROAD, CAR = labels.class_id("road"), labels.class_id("car")
PALETTE = ColourMapping.palette()


def constant_net(logits: np.ndarray):  # noqa: ANN201
    """A stand-in model that returns fixed logits (B copies) whatever the photos."""

    def net(photos, training: bool = False):  # noqa: ANN001, ANN202
        return tf.repeat(tf.constant(logits[None], tf.float32), tf.shape(photos)[0], axis=0)

    return net


def test_native_resolution_is_stricter_than_input_size(tmp_path: Path) -> None:
    # A 32x32 label: road, with a car stripe one pixel wide at column 2. Shrunk to 8x8 with
    # nearest neighbour (TF samples columns 2, 6, 10, ...) the stripe fills column 0.
    colours = labels.TRAIN_LABELS
    label = np.broadcast_to(np.array(colours[ROAD].colour, np.uint8), (32, 32, 3)).copy()
    label[:, 2] = colours[CAR].colour
    pair = np.concatenate([np.full((32, 32, 3), 90, np.uint8), label], axis=1)
    path = write_image(tmp_path / "1.png", pair)
    # The model predicts exactly the shrunk label: right at 8x8, but 4 pixels wide at 32x32.
    logits = np.zeros((8, 8, PALETTE.num_classes), np.float32)
    logits[..., ROAD] = 1.0
    logits[:, 0, CAR] = 2.0
    cms = evaluate.confusion_matrices(constant_net(logits), [path], PALETTE, (8, 8))
    small, native = metrics.scores(cms["input_size"]), metrics.scores(cms["native"])
    assert small["mean_iou"] == pytest.approx(1.0)
    assert cms["native"].sum() == 32 * 32 and cms["input_size"].sum() == 8 * 8
    assert native["per_class_iou"][CAR] < 0.5
    assert native["mean_iou"] < small["mean_iou"] - 0.2


def test_flip_tta_averages_with_the_mirrored_prediction() -> None:
    # Logits that grow from left to right: the mirror image's logits, mirrored back, fall
    # from left to right, so their average is flat.
    ramp = np.zeros((4, 8, 2), np.float32)
    ramp[..., 0] = np.arange(8, dtype=np.float32)[None, :]
    net = constant_net(ramp)
    photos = tf.zeros((3, 4, 8, 3))
    plain = inference.logits(net, photos, "none").numpy()
    tta = inference.logits(net, photos, "flip").numpy()
    np.testing.assert_allclose(plain[0, ..., 0], ramp[..., 0])
    np.testing.assert_allclose(tta[..., 0], 3.5)  # (j + 7 - j) / 2
    np.testing.assert_allclose(tta[..., 1], 0.0)
    with pytest.raises(ValueError, match="tta='rotate'"):
        inference.logits(net, photos, "rotate")


def test_flip_tta_on_a_real_model_is_mirror_consistent() -> None:
    import keras

    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, padding="same")])
    x = tf.random.uniform((2, 8, 8, 3))
    a = inference.logits(net, x, "flip").numpy()
    b = inference.logits(net, tf.reverse(x, axis=[2]), "flip").numpy()
    np.testing.assert_allclose(a, b[:, :, ::-1], atol=1e-5)  # TTA output commutes with mirroring


def test_multiscale_runs_at_the_input_size_and_four_thirds_of_it() -> None:
    assert inference.tta_sizes((96, 192), "flip") == [(96, 192)]
    assert inference.tta_sizes((96, 192), "none") == [(96, 192)]
    assert inference.tta_sizes((96, 192), "multiscale") == [(96, 192), (128, 256)]
    assert inference.tta_sizes((128, 128), "multiscale") == [(128, 128), (160, 160)]  # 170.7
    with pytest.raises(ValueError, match="tta='zoom'"):
        inference.tta_sizes((96, 192), "zoom")


def size_net():  # noqa: ANN201
    """A stand-in model whose logits depend on the photo size: class 0 = 1 at 4 x 8, class 1 = 3
    at any other size; a ramp in class 2 so that the mirror is averaged in too."""

    def net(photos, training: bool = False):  # noqa: ANN001, ANN202
        b, h, w = photos.shape[0], photos.shape[1], photos.shape[2]
        ramp = tf.broadcast_to(tf.range(w, dtype=tf.float32)[None, None, :], (b, h, w))
        small = (h, w) == (4, 8)
        return tf.stack([tf.fill((b, h, w), float(small)), tf.fill((b, h, w), 3.0 * (not small)),
                         ramp], axis=-1)  # fmt: skip

    return net


def test_multiscale_averages_the_scales_at_the_largest_size() -> None:
    sizes = [(4, 8), (8, 16)]
    photos = [tf.zeros((2, *s, 3)) for s in sizes]
    fused = inference.fused_logits(size_net(), photos, "multiscale").numpy()
    assert fused.shape == (2, 8, 16, 3)  # the largest size
    np.testing.assert_allclose(fused[..., 0], 0.5)  # (1 + 0) / 2
    np.testing.assert_allclose(fused[..., 1], 1.5)  # (0 + 3) / 2
    # at each size the ramp and its mirror average to (w - 1) / 2: (3.5 + 7.5) / 2
    np.testing.assert_allclose(fused[..., 2], 5.5, atol=1e-5)
    single = inference.fused_logits(size_net(), photos[:1], "none").numpy()
    np.testing.assert_allclose(single[0, ..., 2], np.tile(np.arange(8.0), (4, 1)))  # as it was


def test_a_model_saved_for_one_size_runs_at_another_through_its_twin() -> None:
    import keras

    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(3, 3, padding="same")])
    assert inference.any_size(net, (8, 8)) is net  # its own size: the model itself
    twin = inference.any_size(net, (16, 24))
    assert twin is not net and inference.any_size(net, (32, 32)) is twin  # made once
    x = tf.random.uniform((2, 16, 24, 3))
    out = inference.logits(net, x, "none").numpy()
    assert out.shape == (2, 16, 24, 3)
    window = x[:, 4:12, 4:12]  # away from the padded border the same convolution, same weights
    np.testing.assert_allclose(out[:, 5:11, 5:11], net(window).numpy()[:, 1:7, 1:7], atol=1e-5)
    bias = net.layers[-1].bias
    shifted = out - bias.numpy() + [5.0, 6.0, 7.0]
    bias.assign([5.0, 6.0, 7.0])  # the twin shares the weights: it never goes stale
    np.testing.assert_allclose(inference.logits(net, x, "none").numpy(), shifted, atol=1e-5)


def test_predict_photo_with_multiscale_returns_ids_at_the_photo_size() -> None:
    photo = np.zeros((20, 40, 3), np.uint8)
    ids = inference.predict_photo(size_net(), photo, (64, 64), tta="multiscale")  # 64 and 96
    assert ids.shape == (20, 40) and ids.dtype == np.uint8
    assert (ids == 2).any() and set(np.unique(ids)) <= {1, 2}  # class 1 (1.5) or the ramp


def test_predict_photo_returns_ids_at_the_photo_size() -> None:
    logits = np.zeros((8, 8, 3), np.float32)
    logits[:, 4:, 2] = 1.0
    net, photo = constant_net(logits), np.zeros((20, 40, 3), np.uint8)
    ids = inference.predict_photo(net, photo, (8, 8), tta="none")
    assert ids.shape == (20, 40) and ids.dtype == np.uint8
    assert set(np.unique(ids)) == {0, 2} and (ids[:, -1] == 2).all() and (ids[:, 0] == 0).all()
    # by default the mirror's logits are averaged in (and a larger scale's): this net ignores
    # its input, so its right half (class 2) now meets its mirror image on the left, and class 2
    # wins everywhere
    assert inference.DEFAULT_TTA == "multiscale"
    assert (inference.predict_photo(net, photo, (8, 8)) == 2).all()


def test_scores_without_rims_leave_the_truck_rim_out(tmp_path: Path) -> None:
    # A 16x16 label: road above the black bonnet, a 2-pixel truck rim between them (as JPEG blur
    # paints it). A model that says road everywhere misses the rim as decoded, not without rims.
    truck = labels.class_id("truck")
    ids = np.full((16, 16), ROAD, np.uint8)
    ids[12:] = labels.IGNORE_ID
    ids[10:12] = truck
    pair = np.concatenate([np.full((16, 16, 3), 90, np.uint8), labels.colourise(ids)], axis=1)
    path = write_image(tmp_path / "1.png", pair)
    logits = np.zeros((16, 16, PALETTE.num_classes), np.float32)
    logits[..., ROAD] = 1.0
    cms = evaluate.confusion_matrices(constant_net(logits), [path], PALETTE, (16, 16))
    assert cms["native"][truck].sum() == 32 and cms["without_rims"][truck].sum() == 0
    assert metrics.scores(cms["native"])["mean_iou"] < 0.5  # truck 0, road 160 / 192
    assert metrics.scores(cms["without_rims"])["mean_iou"] == pytest.approx(1.0)
