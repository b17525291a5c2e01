"""Activation maps and Grad-CAM: shapes, ranges, upsampling, and that the CAM finds its class."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import tiny_unet
from keras import layers

from utils import activations

SIZE = 32


def red_detector() -> keras.Model:
    """decoder_1 copies the photo (ReLU of identity); class 0's logit is the red channel."""
    inp = keras.Input((SIZE, SIZE, 3))
    d1 = layers.Conv2D(3, 1, activation="relu", name="decoder_1")(inp)
    model = keras.Model(inp, layers.Conv2D(2, 1, name="logits")(d1))
    model.get_layer("decoder_1").set_weights([np.eye(3)[None, None], np.zeros(3)])
    w = np.zeros((1, 1, 3, 2))
    w[0, 0, 0, 0] = 1.0  # class 0 <- red
    w[0, 0, 2, 1] = 1.0  # class 1 <- blue
    model.get_layer("logits").set_weights([w, np.zeros(2)])
    return model


def photos(n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, SIZE, SIZE, 3), dtype=np.float32)


def test_stage_layers_fine_to_coarse() -> None:
    assert activations.stage_layers(tiny_unet()) == ["encoder_1", "encoder_2", "bottleneck"]


def test_layer_outputs_shapes_and_missing_layer() -> None:
    outs = activations.layer_outputs(tiny_unet(), photos(5), ["encoder_2", "bottleneck"], 2)
    assert outs["encoder_2"].shape == (5, 16, 16, 8)
    assert outs["bottleneck"].shape == (5, 8, 8, 16)
    with pytest.raises(ValueError, match="no layer"):
        activations.layer_outputs(tiny_unet(), photos(1), ["encoder_9"])


def test_upsample_to_photo_size_keeps_constant_maps() -> None:
    maps = np.stack([np.full((4, 4), 2.0), np.arange(16.0).reshape(4, 4)])
    up = activations.upsample(maps, (32, 48))
    assert up.shape == (2, 32, 48)
    np.testing.assert_allclose(up[0], 2.0)
    assert activations.upsample(maps[1], (8, 8)).shape == (8, 8)
    assert up[1].min() >= 0 and up[1].max() <= 15


def test_stage_maps_at_photo_size_in_unit_range() -> None:
    maps = activations.stage_maps(tiny_unet(), photos(1)[0], reduce="top")
    assert list(maps) == ["encoder_1", "encoder_2", "bottleneck"]
    for m in maps.values():
        assert m.shape == (SIZE, SIZE) and m.min() >= 0 and m.max() <= 1


def test_reduce_channels_top_picks_the_strongest_channel() -> None:
    act = np.zeros((1, 2, 2, 3), np.float32)
    act[0, :, :, 1] = [[1, 2], [3, 4]]
    act[0, 0, 0, 2] = 9  # mean 2.25 < channel 1's mean 2.5
    np.testing.assert_array_equal(activations.reduce_channels(act, "top")[0], [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="reduce"):
        activations.reduce_channels(act, "median")


def test_grad_cam_shape_and_range_at_any_layer() -> None:
    model = tiny_unet()
    for layer in ("bottleneck", "decoder_1"):
        cam = activations.grad_cam(model, photos(3), 1, layer, batch_size=2)
        assert cam.shape == (3, SIZE, SIZE) and cam.dtype == np.float32
        assert cam.min() >= 0 and cam.max() <= 1
    with pytest.raises(ValueError, match="class index"):
        activations.grad_cam(model, photos(1), 3)


def test_grad_cam_concentrates_on_the_class_evidence() -> None:
    photo = np.zeros((1, SIZE, SIZE, 3), np.float32)
    photo[0, 4:12, 4:12, 0] = 1.0  # red square: class 0
    photo[0, 20:28, 8:30, 2] = 1.0  # blue bar: class 1
    model = red_detector()
    mask = np.zeros((1, SIZE, SIZE), bool)
    mask[0, 4:12, 4:12] = True
    cam = activations.grad_cam(model, photo, 0)
    assert activations.mass_share(cam, mask)[0] == pytest.approx(1.0)
    assert activations.mass_share(activations.grad_cam(model, photo, 1), mask)[0] == 0
    ids = np.where(mask, 0, 255).astype(np.uint8)
    stat = activations.class_mass_statistic(model, photo, ids, 0)
    assert stat["images"] == 1 and stat["mass_share"] == pytest.approx(1.0)
    assert stat["pixel_share"] == pytest.approx(64 / SIZE**2) and stat["lift"] > 10


def test_mass_share_of_empty_map_is_nan() -> None:
    cams = np.zeros((2, 4, 4), np.float32)
    cams[1, 0, 0] = 1
    shares = activations.mass_share(cams, np.ones((2, 4, 4), bool))
    assert np.isnan(shares[0]) and shares[1] == 1


def test_class_lookup_and_image_choice() -> None:
    assert activations.class_indices(["road", "car", "sky"], ["sky", "car"]) == {"sky": 2, "car": 1}
    with pytest.raises(KeyError, match="not in the model's classes"):
        activations.class_indices(["road"], ["car"])
    assert activations.class_indices(["road", "sky"], ["car", "sky"], strict=False) == {"sky": 1}
    ids = np.zeros((4, 10, 10), np.uint8)
    ids[1, 0, 0], ids[2, 0, 0], ids[2, 1, 1] = 1, 1, 2  # image 2 shows both
    ids[3, :2, :2], ids[3, 5:, 5:] = 1, 2  # image 3 shows both, larger
    assert activations.pick_image(ids, [1, 2]) == 3
    assert activations.pick_image(ids[:3], [1, 2]) == 2
    assert activations.pick_image(ids[:3], [1, 2], min_share=0.05) == 0  # none shown: first
    assert activations.decoder_layers(tiny_unet()) == ["decoder_1"]


def test_grad_cam_figure_reports_mass_share() -> None:
    from utils.viz import features as features_viz

    cam = np.zeros((SIZE, SIZE), np.float32)
    cam[:8, :8] = 1.0
    mask = np.zeros((SIZE, SIZE), bool)
    mask[:8, :16] = True
    ids = np.where(mask, 13, 0).astype(np.uint8)
    fig = features_viz.grad_cams(
        np.zeros((SIZE, SIZE, 3)),
        ids,
        {"car": cam, "sky": np.zeros_like(cam)},
        {"car": mask, "sky": np.zeros_like(mask)},
    )
    titles = [ax.get_title() for ax in fig.axes[2:4]]
    assert titles == ["car: 100% of mass\non 12.5% of pixels", "sky: not in this image"]
