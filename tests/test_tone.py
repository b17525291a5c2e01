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
    assert set(limits) == set(tone.LIMIT_NAMES)
    for key, pct in [("dark", 1), ("dark_target", 5), ("bright", 99), ("bright_target", 95)]:
        assert limits[key] == pytest.approx(np.percentile(levels, pct), abs=1e-3), key
    assert limits["flat"] == limits["flat_target"] == 0.0  # every photo is one grey
    with pytest.raises(ValueError, match="no photos"):
        tone.tone_limits([])


def test_tone_guard_layer_corrects_at_inference_only_and_saves_its_limits(tmp_path: Path) -> None:
    net = model.build_unet(3, (16, 16), "model1", widths=(4,), bridge=4, tone_guard=True)
    guard = model.tone_guard_of(net)
    assert guard is not None and guard.limits() == tone.OFF  # until set: nobody corrected
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
