"""The tone guard: photos darker, brighter or flatter than the training photos brought back."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from utils import model, tone

LIMITS = {"dark": 0.2, "dark_target": 0.25, "bright": 0.6, "bright_target": 0.55,
          "flat": 0.1, "flat_target": 0.12}  # fmt: skip


def grey(values: np.ndarray) -> np.ndarray:
    """Grey photos (B, H, W, 3) from brightness values (B, H, W): every channel the same."""
    return np.repeat(np.asarray(values, np.float32)[..., None], 3, axis=-1)


def ramp(low: float, high: float, batch: int = 1) -> np.ndarray:
    """Grey photos whose brightness runs evenly from ``low`` to ``high`` over 16 x 16 pixels."""
    return grey(np.broadcast_to(np.linspace(low, high, 256).reshape(16, 16), (batch, 16, 16)))


def tone_of(photos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    median, spread = tone.photo_tone(photos)
    return np.asarray(median), np.asarray(spread)


def test_photo_tone_reads_median_brightness_and_contrast() -> None:
    flat = grey(np.full((1, 8, 8), 0.3))
    halves = grey(np.concatenate([np.zeros((1, 8, 4)), np.ones((1, 8, 4))], axis=2))
    median, spread = tone_of(np.concatenate([flat, halves]))
    np.testing.assert_allclose(median, [0.3, 0.5], atol=1e-6)
    np.testing.assert_allclose(spread, [0.0, 0.5], atol=1e-6)
    red = np.zeros((1, 4, 4, 3), np.float32)
    red[..., 0] = 1.0
    assert tone_of(red)[0][0] == pytest.approx(tone.LUMA[0])  # brightness weighs the channels


def test_photos_within_the_limits_pass_unchanged() -> None:
    photos = ramp(0.05, 0.65)  # median 0.35, contrast 0.17
    assert np.array_equal(np.asarray(tone.guard(photos, LIMITS)), photos)
    assert np.array_equal(np.asarray(tone.guard(photos**2, tone.OFF)), photos**2)


def test_a_dark_photo_is_brightened_to_the_target_and_a_bright_one_darkened() -> None:
    photos = ramp(0.05, 0.65)
    dark, bright = photos**2.5, photos**0.4  # medians 0.07 and 0.66
    assert tone_of(dark)[0][0] < LIMITS["dark"] < LIMITS["bright"] < tone_of(bright)[0][0]
    # (to within the median's interpolation between the two middle pixels of an even count)
    np.testing.assert_allclose(
        tone_of(tone.guard(dark, LIMITS))[0], LIMITS["dark_target"], atol=5e-3
    )
    np.testing.assert_allclose(
        tone_of(tone.guard(bright, LIMITS))[0], LIMITS["bright_target"], atol=5e-3
    )
    # a tone curve is undone, not only shifted: the guard brings back the photo's own shades
    gamma_only = {**LIMITS, "flat": 0.0, "dark_target": tone_of(photos)[0][0]}
    undone = np.asarray(tone.guard(dark, gamma_only))
    np.testing.assert_allclose(undone, photos, atol=0.01)


def test_a_flat_photo_gets_its_contrast_back_around_its_mean() -> None:
    photos = ramp(0.3, 0.5)  # contrast 0.058, median 0.4
    out = np.asarray(tone.guard(photos, LIMITS))
    median, spread = tone_of(out)
    assert spread[0] == pytest.approx(LIMITS["flat_target"], rel=0.02)
    assert out.mean() == pytest.approx(photos.mean(), abs=1e-4)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_each_photo_of_a_batch_is_judged_on_its_own() -> None:
    photos = np.concatenate([ramp(0.05, 0.65), ramp(0.05, 0.65) ** 2.5])
    out = np.asarray(tone.guard(photos, LIMITS))
    assert np.array_equal(out[0], photos[0])
    assert not np.allclose(out[1], photos[1], atol=0.01)


def test_tone_limits_are_percentiles_of_the_training_photos() -> None:
    levels = np.linspace(0.01, 0.99, 200)
    batches = [(grey(np.broadcast_to(v, (1, 8, 8))), None) for v in levels]
    limits = tone.tone_limits(batches)
    assert set(limits) == set(tone.LIMIT_NAMES + tone.COLOUR_LIMIT_NAMES)
    for key, pct in [("dark", 1), ("dark_target", 5), ("bright", 99), ("bright_target", 95)]:
        assert limits[key] == pytest.approx(np.percentile(levels, pct), abs=1e-3), key
    assert limits["flat"] == limits["flat_target"] == 0.0  # every photo is one grey
    assert all(limits[k] == pytest.approx(0.0, abs=1e-3) for k in tone.COLOUR_LIMIT_NAMES)
    with pytest.raises(ValueError, match="no photos"):
        tone.tone_limits([])


def test_tone_guard_layer_corrects_at_inference_only_and_saves_its_limits(tmp_path: Path) -> None:
    net = model.build_unet(3, (16, 16), "model1", widths=(4,), bridge=4, tone_guard=True)
    guard = model.tone_guard_of(net)
    assert guard.limits() == {k: tone.OFF[k] for k in tone.LIMIT_NAMES}  # until set: no change
    assert (
        model.tone_guard_of(model.build_unet(3, (16, 16), "model1", widths=(4,), bridge=4)) is None
    )
    dark = ramp(0.05, 0.65) ** 2.5
    assert np.array_equal(np.asarray(guard(dark, training=False)), dark)
    guard.set_limits(LIMITS)
    assert guard.limits() == LIMITS
    assert np.array_equal(np.asarray(guard(dark, training=True)), dark)  # training: identity
    np.testing.assert_allclose(np.asarray(guard(dark)), np.asarray(tone.guard(dark, LIMITS)))
    with pytest.raises(ValueError, match=r"lack \['flat', 'flat_target'\]"):
        guard.set_limits({k: v for k, v in LIMITS.items() if not k.startswith("flat")})
    net.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert model.tone_guard_of(loaded).limits() == LIMITS
    np.testing.assert_allclose(np.asarray(loaded(dark)), np.asarray(net(dark)), atol=1e-6)


def test_model2_has_the_guard_and_configs_from_before_it_build_without() -> None:
    assert model.SPECS["model2"].tone_guard and not model.SPECS["model1"].tone_guard
    old = {"num_classes": 3, "input_size": [32, 32], "variant": "model2",
           "architecture": {"widths": [8, 16], "bridge": 16}}  # fmt: skip
    assert model.tone_guard_of(model.build_from_config(old)) is None  # old weights files load
    new = {**old, "architecture": {**old["architecture"], "tone_guard": True}}
    assert model.tone_guard_of(model.build_from_config(new)) is not None
    assert not model.tone_guard_of(model.build_from_config(new)).colour  # its weights: 6 limits
    both = {**old, "architecture": {**new["architecture"], "colour_guard": True}}
    assert model.tone_guard_of(model.build_from_config(both)).colour
    assert model.SPECS["model2"].colour_guard
    with pytest.raises(ValueError, match="colour_guard=True needs tone_guard=True"):
        model.build_unet(3, (16, 16), "model1", widths=(4,), bridge=4, colour_guard=True)


COLOUR = {"red_low": -0.1, "red_low_target": -0.05, "red_high": 0.1, "red_high_target": 0.05,
          "blue_low": -0.1, "blue_low_target": -0.05, "blue_high": 0.1,
          "blue_high_target": 0.05}  # fmt: skip


def cast(photos: np.ndarray, red: float, blue: float) -> np.ndarray:
    """``photos`` with red and blue scaled (a camera's white balance)."""
    return (photos * np.array([red, 1.0, blue], np.float32)).astype(np.float32)


def colour_of(photos: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(v) for v in tone.photo_colour(photos)], axis=-1)


def test_photo_colour_reads_red_and_blue_against_green() -> None:
    photos = np.broadcast_to(np.array([0.4, 0.5, 0.3], np.float32), (1, 4, 4, 3))
    np.testing.assert_allclose(colour_of(photos), [[np.log(0.8), np.log(0.6)]], atol=1e-6)


def test_a_colour_cast_beyond_the_limits_is_balanced_and_brightness_kept() -> None:
    photos = ramp(0.1, 0.6, batch=3)
    photos = np.concatenate([photos[:1], cast(photos[1:2], 1.3, 0.75), cast(photos[2:], 0.8, 1.2)])
    limits = {**LIMITS, "flat": 0.0, "dark": 0.0, "bright": 1.0, **COLOUR}
    out = np.asarray(tone.guard(photos, limits))
    assert np.array_equal(out[0], photos[0])  # neutral: within the limits, unchanged
    np.testing.assert_allclose(colour_of(out[1:]), [[0.05, -0.05], [-0.05, 0.05]], atol=2e-3)
    luma = lambda x: (x * np.array(tone.LUMA, np.float32)).sum(-1).mean()  # noqa: E731
    for before, after in zip(photos[1:], out[1:], strict=True):
        assert luma(after) == pytest.approx(luma(before), rel=0.03)  # gains on unequal channels
    assert np.array_equal(np.asarray(tone.guard(photos, tone.OFF)), photos)  # off: untouched
    # a photo the tone limits correct is not judged on its colour (a gamma moves it too)
    dark_warm = photos[1:2] ** 2.5
    tone_only = {k: v for k, v in limits.items() if k in tone.LIMIT_NAMES}
    dark_limits = {**limits, "dark": 0.2, "dark_target": 0.25}
    np.testing.assert_array_equal(
        np.asarray(tone.guard(dark_warm, dark_limits)),
        np.asarray(tone.guard(dark_warm, {**tone_only, "dark": 0.2, "dark_target": 0.25})),
    )
    assert not np.allclose(np.asarray(tone.guard(dark_warm, dark_limits)), dark_warm, atol=0.01)
    # without colour limits (a guard saved before them) the cast passes
    assert np.array_equal(
        np.asarray(
            tone.guard(
                photos[1:2],
                {**limits, **{k: v for k, v in tone.OFF.items() if k in tone.COLOUR_LIMIT_NAMES}},
            )
        ),
        photos[1:2],
    )


def test_colour_guard_layer_has_and_saves_the_colour_limits(tmp_path: Path) -> None:
    net = model.build_unet(
        3, (16, 16), "model1", widths=(4,), bridge=4, tone_guard=True, colour_guard=True
    )
    guard = model.tone_guard_of(net)
    assert set(guard.limits()) == set(tone.LIMIT_NAMES + tone.COLOUR_LIMIT_NAMES)
    with pytest.raises(ValueError, match="red_high"):
        guard.set_limits(LIMITS)  # the tone limits alone do not do
    guard.set_limits({**LIMITS, **COLOUR})
    warm = cast(ramp(0.1, 0.6), 1.3, 0.75)
    np.testing.assert_allclose(
        np.asarray(guard(warm)), np.asarray(tone.guard(warm, {**LIMITS, **COLOUR})), atol=1e-6
    )
    net.save(tmp_path / "m.keras")
    loaded = model.tone_guard_of(keras.models.load_model(tmp_path / "m.keras", compile=False))
    assert loaded.colour and loaded.limits() == {**LIMITS, **COLOUR}
    tone_only = model.build_unet(3, (16, 16), "model1", widths=(4,), bridge=4, tone_guard=True)
    model.tone_guard_of(tone_only).set_limits({**LIMITS, **COLOUR})  # extra limits: ignored
    assert model.tone_guard_of(tone_only).limits() == LIMITS
