"""A photo's tone (brightness and contrast) and the guard against tones no training photo had.

Another camera's street photos can be darker, brighter or flatter than any Cityscapes photo, and
a model reads them badly (dark photos: buildings become truck, trees are missed). The training
photometric change covers a range (``utils.augment.photometric_batch``); :class:`ToneGuard`,
model 2's first layer, brings a photo whose tone lies outside what the model trained on back
inside, before the model sees it: a contrast stretch around its mean, then a gamma that moves its
median brightness, then (``colour``) gains on red and blue that move its colour balance, each only
where needed. A photo within the limits passes unchanged, and so
does every photo while training (the layer is the identity there, like dropout).

The limits are percentiles of the training photos' own tones (:func:`tone_limits`, set by
``utils.train`` before the first epoch and saved with the model): a photo is corrected only when
it is darker, brighter or flatter than the 1st (99th) percentile, and then to the 5th (95th).
On the held-out cities made darker (gamma 2) the README command's model kept 91 % of its clean
mIoU without the guard and 98 % with it (darker and flatter: 84 % and 91 %), and the photos as
they are scored the same (``benchmarks/bench_robustness.py``; ``Semantic_out_2/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
from keras import layers, ops

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B in a pixel's brightness
GUARD_PERCENTILE = 1.0  # a photo darker / flatter than this percentile of the training photos...
TARGET_PERCENTILE = 5.0  # ...is brought to this one (brighter ones: 100 minus each)
TONE_STRIDE = 2  # the tone is read on every 2nd pixel of every 2nd row: the same median, 4x cheaper
LIMIT_NAMES = ("dark", "dark_target", "bright", "bright_target", "flat", "flat_target")
# The colour limits: each photo's log(mean red / mean green) and log(mean blue / mean green)
COLOUR_LIMIT_NAMES = tuple(
    f"{c}_{end}{t}" for c in ("red", "blue") for end in ("low", "high") for t in ("", "_target")
)
OFF = {  # no photo corrected
    **dict(zip(LIMIT_NAMES, (0.0, 0.0, 1.0, 1.0, 0.0, 0.0), strict=True)),
    **{k: -10.0 if "low" in k else 10.0 for k in COLOUR_LIMIT_NAMES},
}


def _sampled(photos):  # noqa: ANN001, ANN202
    """The pixels a photo's tone and colour are read on (:data:`TONE_STRIDE`), as float32."""
    return ops.cast(photos[:, ::TONE_STRIDE, ::TONE_STRIDE, :], "float32")


def photo_tone(photos):  # noqa: ANN001, ANN201 - (B, H, W, 3) -> ((B,), (B,)) tensors
    """Each photo's median brightness (luma, 0-1) and the standard deviation of its brightness
    (its contrast), from photos (B, H, W, 3) in [0, 1]."""
    x = _sampled(photos)
    luma = ops.sum(x * ops.convert_to_tensor(LUMA, "float32"), axis=-1)
    flat = ops.reshape(luma, (ops.shape(luma)[0], -1))
    return ops.median(flat, axis=1), ops.std(flat, axis=1)


def photo_colour(photos):  # noqa: ANN001, ANN201 - (B, H, W, 3) -> ((B,), (B,)) tensors
    """Each photo's colour balance: log(mean red / mean green) and log(mean blue / mean green),
    from photos (B, H, W, 3) in [0, 1] (grey-world: a camera's white balance moves both)."""
    x = _sampled(photos)
    m = ops.log(ops.maximum(ops.mean(x, axis=(1, 2)), 1e-3))
    return m[:, 0] - m[:, 1], m[:, 2] - m[:, 1]


def _into_limits(value, limits: dict, name: str):  # noqa: ANN001, ANN202
    """``value`` (B,) where within ``name``'s low and high limits, else that end's target."""
    low, high = limits[f"{name}_low"], limits[f"{name}_high"]
    return ops.where(
        value < low,
        limits[f"{name}_low_target"],
        ops.where(value > high, limits[f"{name}_high_target"], value),
    )


def balance(photos, limits: dict):  # noqa: ANN001, ANN201 - (B, H, W, 3) tensor
    """``photos`` (B, H, W, 3) in [0, 1] whose colour balance (:func:`photo_colour`) lies outside
    ``limits`` (:data:`COLOUR_LIMIT_NAMES`) brought to the nearer target by a gain on red and on
    blue, all three gains divided by their luma-weighted mean (brightness about kept: the tone
    limits' business). Photos within the limits are unchanged."""
    x = ops.cast(photos, "float32")
    red, blue = photo_colour(x)
    gain_red = ops.exp(_into_limits(red, limits, "red") - red)
    gain_blue = ops.exp(_into_limits(blue, limits, "blue") - blue)
    gains = ops.stack([gain_red, ops.ones_like(gain_red), gain_blue], axis=-1)
    gains = gains / ops.sum(gains * ops.convert_to_tensor(LUMA, "float32"), axis=-1, keepdims=True)
    changed = ops.reshape(ops.logical_or(gain_red != 1.0, gain_blue != 1.0), (-1, 1, 1, 1))
    return ops.where(changed, ops.clip(x * ops.reshape(gains, (-1, 1, 1, 3)), 0, 1), x)


def guard(photos, limits: dict):  # noqa: ANN001, ANN201 - (B, H, W, 3) tensor
    """``photos`` (B, H, W, 3) in [0, 1] with each one outside ``limits`` (:data:`LIMIT_NAMES`)
    brought back: flatter than ``flat``: contrast stretched around its mean to ``flat_target``;
    then darker than ``dark`` (brighter than ``bright``): the gamma that puts its median
    brightness at ``dark_target`` (``bright_target``). Photos within the limits are unchanged.
    Where ``limits`` has the colour limits too, :func:`balance` then corrects the photos whose
    tone was within them: a tone change moves a photo's colour balance too (a gamma scales its
    log ratios), so a corrected dark photo would read as a colour cast (on the held-out cities
    made darker, 17 % of them were; balanced, they lost 0.003 mIoU)."""
    x = ops.cast(photos, "float32")
    per_photo = lambda v: ops.reshape(v, (-1, 1, 1, 1))  # noqa: E731
    _, spread = photo_tone(x)
    stretch = ops.where(
        spread < limits["flat"], limits["flat_target"] / ops.maximum(spread, 1e-3), 1.0
    )
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    x = ops.where(
        per_photo(stretch) > 1.0, ops.clip(mean + (x - mean) * per_photo(stretch), 0, 1), x
    )
    median, _ = photo_tone(x)
    median = ops.clip(median, 1e-3, 1.0 - 1e-3)
    target = ops.where(
        median < limits["dark"],
        limits["dark_target"],
        ops.where(median > limits["bright"], limits["bright_target"], median),
    )
    gamma = ops.log(target) / ops.log(median)  # median ** gamma == target; 1 where unchanged
    x = ops.where(per_photo(gamma) != 1.0, ops.power(ops.maximum(x, 1e-6), per_photo(gamma)), x)
    if not all(k in limits for k in COLOUR_LIMIT_NAMES):
        return x
    toned = per_photo(ops.logical_or(stretch > 1.0, gamma != 1.0))
    return ops.where(toned, x, balance(x, limits))


def tone_limits(batches: Iterable) -> dict:
    """The guard's limits (:data:`LIMIT_NAMES` and :data:`COLOUR_LIMIT_NAMES`) from the tones of
    photos (the training photos, as batches of (photos, ids) or photos): percentiles
    :data:`GUARD_PERCENTILE` and :data:`TARGET_PERCENTILE` of their median brightness (and 100
    minus each), contrast, and colour balance (both ends)."""
    reads = []
    for batch in batches:
        photos = batch[0] if isinstance(batch, tuple | list) else batch
        reads.append([np.asarray(v) for v in (*photo_tone(photos), *photo_colour(photos))])
    if not reads:
        raise ValueError("tone_limits: no photos to read the tone of")
    m, s, red, blue = (np.concatenate(v) for v in zip(*reads, strict=True))
    g, t = GUARD_PERCENTILE, TARGET_PERCENTILE
    values = [np.percentile(m, g), np.percentile(m, t), np.percentile(m, 100 - g),
              np.percentile(m, 100 - t), np.percentile(s, g), np.percentile(s, t)]  # fmt: skip
    for v in (red, blue):
        values += [np.percentile(v, p) for p in (g, t, 100 - g, 100 - t)]
    names = LIMIT_NAMES + COLOUR_LIMIT_NAMES
    return {k: round(float(v), 4) for k, v in zip(names, values, strict=True)}


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class ToneGuard(layers.Layer):
    """:func:`guard` in the model, so that ``utils.predict``, ``utils.evaluate`` and the
    notebooks all use it; the identity while training. Its limits are non-trainable weights,
    saved with the model and set by :meth:`set_limits` (until then no photo is corrected).
    ``colour``: the colour balance is guarded too (:data:`COLOUR_LIMIT_NAMES`; models saved
    before 2026-12-07's second session have the tone limits alone)."""

    def __init__(self, colour: bool = False, **kwargs) -> None:
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        self.colour = bool(colour)
        names = LIMIT_NAMES + (COLOUR_LIMIT_NAMES if self.colour else ())
        self.limit_weights = {
            name: self.add_weight(shape=(), name=name, trainable=False,
                                  initializer=keras.initializers.Constant(OFF[name]))
            for name in names
        }  # fmt: skip

    def limits(self) -> dict:
        """The limits now in force, as floats."""
        return {k: round(float(ops.convert_to_numpy(w)), 4) for k, w in self.limit_weights.items()}

    def set_limits(self, limits: dict) -> None:
        """Set every limit of the layer (e.g. from :func:`tone_limits`; others are ignored)."""
        missing = set(self.limit_weights) - set(limits)
        if missing:
            raise ValueError(
                f"tone limits lack {sorted(missing)}; expected {list(self.limit_weights)}"
            )
        for name, w in self.limit_weights.items():
            w.assign(float(limits[name]))

    def call(self, x, training=None):  # noqa: ANN001, ANN201
        if training:
            return x
        return guard(x, self.limit_weights)

    def compute_output_shape(self, shape: tuple) -> tuple:
        return shape

    def get_config(self) -> dict:
        """The layer's config, with ``colour``."""
        return {**super().get_config(), "colour": self.colour}
