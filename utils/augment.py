"""Joint photo/label augmentation of ``tf.data`` batches: flip, zoom/crop, colour jitter.

Every transform draws from stateless random numbers seeded by (batch counter, seed), so a run is
reproducible, and moves photo and class ids together (labels stay exact ids: nearest neighbour).
``augment(dataset, mode, seed)`` is the one place that decides what a mode means:

- ``none``: nothing;
- ``flip``: per image horizontal flip with probability 0.5;
- ``full``: flip, then per image a random zoom (U(min_zoom, max_zoom), probability 0.5; 1 to
  1.5 unless set) at a random place and a random brightness shift and contrast scale; a zoom
  below 1 shrinks the photo into a black frame whose pixels are void (no loss);
- ``photo``: flip, then per image a stronger photometric change (:func:`photometric_batch`:
  gamma, contrast, saturation, brightness; with ``colour_cast``, white balance first) and no
  zoom: photos from other cameras, darker or flatter than Cityscapes', look less foreign;
- ``photo_zoom``: ``photo`` with ``full``'s random zoom before the photometric change: objects
  at more sizes as well as other exposures.

With ``paste_ids`` (``TrainConfig.paste_classes``), after the flip and zoom and before any colour
change, every image also gets the pixels of those classes from the next image in its batch
(:func:`paste_batch`): rare objects shown twice an epoch, in other streets.

With a ``crop_size`` (``TrainConfig.crop_size``), every image is instead cut to a random-scale
``crop_size`` square window (:func:`scale_crop_batch`) after the flip, ``full`` adds only the
colour jitter and ``photo`` (``photo_zoom``) its photometric change: the network trains on crops
of the larger photos it is evaluated on.

It runs after the cache (``utils.data.make_dataset``), so every epoch draws new transforms.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from utils.labels import IGNORE_ID
from utils.tone import LUMA

AUGMENT_MODES = ("none", "flip", "full", "photo", "photo_zoom")
ZOOM_MODES = ("full", "photo_zoom")  # the modes with a random zoom (replaced by crops)
PHOTO_MODES = ("photo", "photo_zoom")  # the modes with the photometric change
FLIP_SEED_STRIDE = 1_000_003  # batch counters of the flip and zoom streams start far apart
ZOOM_SEED_STRIDE = 7_919
CROP_SEED_STRIDE = 104_729
PHOTO_SEED_STRIDE = 15_485_863
# What ``--paste-classes`` alone (and the benchmark's paste recipe) pastes: the vehicles and
# riders with the lowest held-out IoU (0.15-0.35) and the fewest pixels.
RARE_THINGS = ("rider", "truck", "bus", "train", "motorcycle", "bicycle")


def check_mode(mode: str) -> str:
    """``mode`` if known, else a ``ValueError`` naming the choices."""
    if mode not in AUGMENT_MODES:
        raise ValueError(f"augment={mode!r}; choose from {AUGMENT_MODES}")
    return mode


def flip_batch(photos, ids, seed):  # noqa: ANN001, ANN201
    """Per-image joint flip of a batch: photo (B,H,W,3) and ids (B,H,W) share each coin."""
    n = tf.shape(photos)[0]
    coins = tf.random.stateless_uniform([n], seed=seed) < 0.5
    photos = tf.where(coins[:, None, None, None], tf.reverse(photos, axis=[2]), photos)
    ids = tf.where(coins[:, None, None], tf.reverse(ids, axis=[2]), ids)
    return photos, ids


def zoom_crop_batch(  # noqa: ANN201
    photos, ids, seed,  # noqa: ANN001
    max_zoom: float = 1.5, p: float = 0.5, min_zoom: float = 1.0,
):  # fmt: skip
    """Per image, with probability ``p``: zoom by U(min_zoom, max_zoom) at a random place; below
    1 the photo shrinks into a black frame at a random place, its labels void (``IGNORE_ID``).

    Cropped by :func:`crop_boxes`, so the labels stay exact class ids.
    """
    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 4], seed=seed)
    zoom = tf.where(u[:, 0] < p, min_zoom + (max_zoom - min_zoom) * u[:, 1], 1.0)
    side = 1.0 / zoom
    y1 = u[:, 2] * (1.0 - side)
    x1 = u[:, 3] * (1.0 - side)
    boxes = tf.stack([y1, x1, y1 + side, x1 + side], axis=1)
    return crop_boxes(photos, ids, boxes, tf.shape(photos)[1:3])  # the photo's own size


def crop_boxes(photos, ids, boxes, size):  # noqa: ANN001, ANN201
    """Each image's box (y1, x1, y2, x2 as fractions) resized to ``size`` ((h, w) or a tensor:
    the photos' own size): one ``tf.image.crop_and_resize`` call per batch, bilinear for
    photos, nearest for ids (exact). Outside the photo (a box beyond 0-1): black, void ids."""
    index = tf.range(tf.shape(photos)[0])
    cropped = tf.image.crop_and_resize(photos, boxes, index, size, method="bilinear")
    cropped_ids = tf.image.crop_and_resize(
        tf.cast(ids[..., None], tf.float32), boxes, index, size, method="nearest",
        extrapolation_value=float(IGNORE_ID),
    )  # fmt: skip
    # crop_and_resize forgets the static shape; Keras layers want it back.
    static = (photos.shape[0], *(size if isinstance(size, tuple) else photos.shape[1:3]))
    return tf.ensure_shape(cropped, (*static, 3)), tf.ensure_shape(
        tf.cast(cropped_ids[..., 0], tf.uint8), static
    )


def scale_crop_batch(photos, ids, seed, crop_size: int, max_scale: float = 1.5):  # noqa: ANN001, ANN201
    """Per image a ``crop_size`` square window at a random scale and place (photo bilinear, ids
    nearest, one ``crop_and_resize`` call per batch).

    The scale is relative to the batch's own size S and drawn from U(crop_size / S, max_scale):
    at the low end the whole photo shrunk to the window (what whole-photo training at
    ``crop_size`` sees), at 1 a window of S-sized pixels (what evaluation at S sees), above 1 a
    zoom in. This is the field's random-scale crop: the detail of a large input for the cost of
    a small one, and objects at many sizes.
    """
    n = tf.shape(photos)[0]
    full = tf.cast(tf.shape(photos)[1], tf.float32)
    u = tf.random.stateless_uniform([n, 3], seed=seed)
    low = crop_size / full
    scale = low + (max_scale - low) * u[:, 0]
    side = tf.minimum(crop_size / (full * scale), 1.0)  # window side as a fraction of the photo
    y1 = u[:, 1] * (1.0 - side)
    x1 = u[:, 2] * (1.0 - side)
    boxes = tf.stack([y1, x1, y1 + side, x1 + side], axis=1)
    return crop_boxes(photos, ids, boxes, (crop_size, crop_size))


def paste_batch(photos, ids, class_ids):  # noqa: ANN001, ANN201
    """Each image with the pixels of ``class_ids`` from the next image of the batch (the last
    from the first) pasted over it, photo and ids together: ClassMix (Olsson et al. 2021)
    restricted to rare classes, so a bus or a rider seen in one street is also trained on in
    another. Written by hand: Keras and tf.image have no joint photo/label mixing."""
    donor_photos, donor_ids = tf.roll(photos, -1, axis=0), tf.roll(ids, -1, axis=0)
    wanted = tf.constant(list(class_ids), dtype=ids.dtype)
    mask = tf.reduce_any(donor_ids[..., None] == wanted, axis=-1)
    return tf.where(mask[..., None], donor_photos, photos), tf.where(mask, donor_ids, ids)


def colour_jitter_batch(photos, seed, brightness: float = 0.1, contrast: float = 0.2):  # noqa: ANN001, ANN201
    """Per image random brightness shift and contrast scale, clipped to [0, 1]."""
    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 2], seed=seed, minval=-1.0, maxval=1.0)
    shift = (brightness * u[:, 0])[:, None, None, None]
    scale = (1.0 + contrast * u[:, 1])[:, None, None, None]
    mean = tf.reduce_mean(photos, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value((photos - mean) * scale + mean + shift, 0.0, 1.0)


def colour_cast_batch(photos, seed, cast: float):  # noqa: ANN001, ANN201
    """Per image a white-balance change: each channel scaled by a gain log-uniform in
    [1/(1 + cast), 1 + cast], the gains divided by their luma-weighted mean (the brightness is
    the other changes' business); in [0, 1]. Another camera's white balance (a warmer or cooler
    light) shifts red against blue like this: one such cast (red x1.2, blue x0.8) cost the
    held-out score a quarter without it (``benchmarks/bench_robustness.py``, ``warm``)."""
    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 3], seed=seed, minval=-1.0, maxval=1.0)
    gains = tf.exp(tf.math.log(1.0 + cast) * u)
    gains = gains / tf.reduce_sum(gains * LUMA, axis=1, keepdims=True)
    return tf.clip_by_value(photos * gains[:, None, None, :], 0.0, 1.0)


def photometric_batch(  # noqa: ANN201
    photos,  # noqa: ANN001
    seed,  # noqa: ANN001
    gamma: float = 1.5,
    contrast: float = 0.4,
    saturation: float = 0.4,
    brightness: float = 0.1,
    share: float = 1.0,
    cast: float = 0.0,
):  # fmt: skip
    """Per image: gamma log-uniform in [1/gamma, gamma] (over- and under-exposure), contrast
    and saturation scaled by U(1 - x, 1 + x), brightness shifted by U(-b, b); in [0, 1].
    With ``share`` below 1, only that share of the photos (drawn per image) is changed. With
    ``cast`` above 0, each photo first gets a colour cast (:func:`colour_cast_batch`).

    Written with tf ops rather than ``keras.layers.RandomContrast``/``RandomBrightness`` because
    it must draw from the per-batch stateless seed (reproducible runs) and adds gamma, which
    Keras lacks.
    """
    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 4], seed=seed, minval=-1.0, maxval=1.0)
    per_image = lambda v: v[:, None, None, None]  # noqa: E731
    x = colour_cast_batch(photos, seed + tf.constant([0, 2], seed.dtype), cast) if cast else photos
    x = tf.pow(tf.maximum(x, 1e-6), per_image(tf.exp(tf.math.log(gamma) * u[:, 0])))
    grey = tf.reduce_mean(x, axis=3, keepdims=True)
    x = grey + (x - grey) * per_image(1.0 + saturation * u[:, 1])
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = mean + (x - mean) * per_image(1.0 + contrast * u[:, 2]) + per_image(brightness * u[:, 3])
    x = tf.clip_by_value(x, 0.0, 1.0)
    if share >= 1:
        return x
    coins = tf.random.stateless_uniform([n], seed=seed + tf.constant([0, 1], seed.dtype))
    return tf.where(per_image(coins < share), x, photos)


def _per_batch(dataset, start: int, seed: int, transform):  # noqa: ANN001, ANN202
    """``dataset.map`` of ``transform(photos, ids, s)`` with a fresh stateless seed ``s`` per
    batch: (batch counter from ``start``, ``seed``)."""
    counter = tf.data.Dataset.counter(start)
    return tf.data.Dataset.zip((dataset, counter)).map(
        lambda batch, i: transform(*batch, tf.stack([i, tf.constant(seed, tf.int64)])),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def augment(  # noqa: ANN201
    dataset,  # noqa: ANN001
    mode: str,
    seed: int = 0,
    max_zoom: float = 1.5,
    crop_size: int = 0,
    paste_ids: Sequence[int] = (),
    photo_share: float = 1.0,
    min_zoom: float = 1.0,
    colour_cast: float = 0.0,
):  # fmt: skip
    """``dataset`` of (photos, ids) batches with the augmentation of ``mode`` mapped over it;
    the zoom modes zoom by ``min_zoom`` to ``max_zoom``; with ``crop_size``, random-scale
    windows of that size (scales up to ``max_zoom``); with ``paste_ids``, those classes' pixels
    pasted from the next image (:func:`paste_batch`); ``photo_share``: the share of photos the
    photometric modes change, ``colour_cast`` the strength of their white-balance change (0:
    none)."""
    if check_mode(mode) != "none":
        dataset = _per_batch(dataset, seed * FLIP_SEED_STRIDE, seed, flip_batch)
    if crop_size:
        dataset = _per_batch(
            dataset, seed * CROP_SEED_STRIDE + 2, seed,
            lambda p, i, s: scale_crop_batch(p, i, s, crop_size, max_zoom),
        )  # fmt: skip
    if mode in ZOOM_MODES and not crop_size:  # crops replace the zoom
        dataset = _per_batch(
            dataset, seed * ZOOM_SEED_STRIDE + 1, seed,
            lambda p, i, s: zoom_crop_batch(p, i, s, max_zoom, min_zoom=min_zoom),
        )  # fmt: skip
    if paste_ids:
        dataset = dataset.map(
            lambda p, i: paste_batch(p, i, paste_ids), num_parallel_calls=tf.data.AUTOTUNE
        )
    if mode == "full":  # the zoom's stream, one draw on
        dataset = _per_batch(
            dataset, seed * ZOOM_SEED_STRIDE + 1, seed,
            lambda p, i, s: (colour_jitter_batch(p, s + 1), i),
        )  # fmt: skip
    if mode in PHOTO_MODES:
        dataset = _per_batch(
            dataset, seed * PHOTO_SEED_STRIDE + 3, seed,
            lambda p, i, s: (photometric_batch(p, s, share=photo_share, cast=colour_cast), i),
        )  # fmt: skip
    return dataset.prefetch(tf.data.AUTOTUNE)
