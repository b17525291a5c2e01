"""Repeat-factor sampling: training photos that hold rare classes come more often.

Cityscapes' rare classes (train, motorcycle, rider, bus) appear in 2-5 % of the photos, so a
model sees each only a few dozen times in a short run. Repeat-factor sampling (Gupta et al.,
"LVIS", 2019; the detection libraries' ``RepeatFactorTrainingSampler``) gives each class a factor
``max(1, sqrt(threshold / share))``, ``share`` the part of the training photos it appears in,
and each photo the largest factor of its classes. An epoch lists each photo ``floor(r)`` times
and once more with probability ``r - floor(r)``, shuffles the list and keeps as many photos as
there are: the same number of steps, more of them on rare classes.

tf.data has weighted sampling between datasets but none by element, hence the few lines here.
``utils.train.prepare`` counts the class weights' pixels on one epoch as drawn, so the weights
balance what the model is shown.
A class counts as present from ``min_share`` of a photo's pixels on: JPEG blur paints one- or
two-pixel rims of wall or truck colour into most label images (``utils.rims``).
"""

from __future__ import annotations

import numpy as np

MIN_SHARE = 0.005  # of a photo's pixels, for a class to count as present in it
VOID = 255


def class_factors(shares: np.ndarray, threshold: float) -> np.ndarray:
    """Each class's repeat factor ``max(1, sqrt(threshold / share))`` (1 for absent classes)."""
    shares = np.asarray(shares, np.float64)
    safe = np.where(shares > 0, shares, 1.0)
    return np.where(shares > 0, np.maximum(1.0, np.sqrt(threshold / safe)), 1.0)


def photo_factors(ids: np.ndarray, threshold: float, min_share: float = MIN_SHARE) -> np.ndarray:
    """Each photo's repeat factor from a stack of class-id images (N, H, W)."""
    counts = np.stack([np.bincount(i.ravel(), minlength=VOID + 1) for i in ids])
    return factors_from_counts(counts, ids[0].size, threshold, min_share)


def factors_from_counts(
    counts: np.ndarray, pixels: int, threshold: float, min_share: float = MIN_SHARE
) -> np.ndarray:
    """Each photo's repeat factor from its pixels per class id (N, 256; void last, ignored)."""
    present = counts[:, :VOID] >= min_share * pixels
    factors = class_factors(present.mean(axis=0), threshold)
    return np.where(present, factors, 1.0).max(axis=1)


def shuffled(ds, count: int, seed: int = 0, rare_repeat: float = 0.0):  # noqa: ANN001, ANN201
    """``ds`` (``count`` cached elements) reshuffled every epoch; with ``rare_repeat`` > 0, drawn
    by repeat factor with that threshold (:func:`repeat_rare`)."""
    if rare_repeat:
        return repeat_rare(ds, count, rare_repeat, seed)
    return ds.shuffle(count, seed=seed, reshuffle_each_iteration=True)


def repeat_rare(ds, count: int, threshold: float, seed: int = 0, min_share: float = MIN_SHARE):  # noqa: ANN001, ANN201 - tf.data
    """``ds`` (unbatched (photo, ids), ``count`` elements, cached) as a shuffled epoch of
    ``count`` photos drawn by repeat factor. One pass over ``ds`` first counts each photo's
    class pixels (and fills its cache); the factors are then looked up by position."""
    import tensorflow as tf

    def class_pixels(_photo, ids):  # noqa: ANN001, ANN202
        flat = tf.cast(tf.reshape(ids, [-1]), tf.int32)
        return tf.math.bincount(flat, minlength=VOID + 1, maxlength=VOID + 1), tf.size(ids)

    counts, pixels = zip(*ds.map(class_pixels).as_numpy_iterator(), strict=True)
    factors = factors_from_counts(np.stack(counts), int(pixels[0]), threshold, min_share)
    factors = tf.constant(factors, tf.float32)

    def times(element, draw):  # noqa: ANN001, ANN202
        i, (photo, ids) = element
        r = factors[i]
        u = tf.cast(draw % (1 << 24), tf.float32) / float(1 << 24)
        n = tf.floor(r) + tf.cast(u < r - tf.floor(r), tf.float32)
        return tf.data.Dataset.from_tensors((photo, ids)).repeat(tf.cast(n, tf.int64))

    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    listed = tf.data.Dataset.zip(ds.enumerate(), draws).flat_map(times)
    picked = listed.shuffle(2 * count, seed=seed, reshuffle_each_iteration=True)
    return picked.take(count).apply(tf.data.experimental.assert_cardinality(count))
