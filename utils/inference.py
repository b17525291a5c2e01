"""Running a trained model: logits with test-time augmentation (flip, scales), at any size.

The one place that turns photos into class ids, shared by ``utils.evaluate`` (scores at the
labels' native resolution) and ``utils.predict`` (PNGs at the photo's size): photos are resized to
the model's input size as in training (``utils.data.resize_photo``; with ``multiscale`` also to
4/3 of it), the logits are resized back bilinearly to the wanted size (averaged over the
mirror image and the scales), and their argmax is the class id.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np

from utils import data

TTA_MODES = ("none", "flip", "multiscale")
# "flip": the mirror's logits averaged in gained 0.005-0.009 mIoU on every model 2 measured for
# twice the forward passes. "multiscale": flip at the input size and at 4/3 of it, logits
# averaged (the multi-scale inference of DeepLab and PSPNet, with two scales): +0.002 to +0.009
# over flip on five model 2 runs, on darker and flatter photos too, for 2.7x flip's forward
# time; 2/3 and 5/3 as extra scales lost, and on the 128 x 256 models 3/4, 3/2, 5/3 and 2 were
# no better (benchmarks/bench_tta_scales.py; Semantic_out_2/README.md). What ``utils.predict``
# and ``utils.evaluate`` use unless told otherwise; training scores without TTA.
DEFAULT_TTA = "multiscale"
MULTISCALE = (1.0, 4 / 3)
SIZE_STEP = 32  # extra scales are rounded to multiples of 32, which every project UNet takes


def check_tta(tta: str) -> str:
    """``tta`` if it is a known mode, else a ``ValueError`` naming the choices."""
    if tta not in TTA_MODES:
        raise ValueError(f"tta={tta!r}; choose from {TTA_MODES}")
    return tta


def tta_sizes(input_size: Sequence[int], tta: str) -> list[tuple[int, int]]:
    """The photo sizes ``tta`` runs the model at: the input size, then any larger scales."""
    scales = MULTISCALE if check_tta(tta) == "multiscale" else (1.0,)
    return [
        tuple(
            int(s) if k == 1 else max(1, round(s * k / SIZE_STEP)) * SIZE_STEP for s in input_size
        )
        for k in scales
    ]


def scoring_batches(
    files: Sequence,
    input_size: Sequence[int],
    tta: str,
    label_mapper,  # noqa: ANN001
    batch_size: int = 16,
    check: bool = True,
):  # noqa: ANN201 - yields (list of tf tensors, tf tensor)
    """(photos at each of :func:`tta_sizes`, class ids at the labels' own size) batches of pair
    files, for :func:`fused_logits`: one input pipeline per size, read in step."""
    datasets = [
        data.make_dataset(
            files,
            size,
            label_mapper=label_mapper,
            batch_size=batch_size,
            cache=False,
            native_labels=True,
            check=check and not i,
        )  # fmt: skip
        for i, size in enumerate(tta_sizes(input_size, tta))
    ]
    for batch in zip(*datasets, strict=True):
        yield [photos for photos, _ in batch], batch[0][1]


def logits(net, photos, tta: str = "none"):  # noqa: ANN001, ANN201 - tf tensors
    """Float32 logits (B, h, w, C) of photos (B, h, w, 3) in [0, 1], at the photos' size.

    Unless ``tta`` is "none", the logits of each photo and of its mirror image (mirrored back)
    are averaged. A Keras model built for one input size runs at another through its twin
    (:func:`any_size`).
    """
    import tensorflow as tf

    net = any_size(net, tuple(photos.shape[1:3]))
    out = tf.cast(net(photos, training=False), tf.float32)
    if check_tta(tta) != "none":
        mirrored = tf.cast(net(tf.reverse(photos, axis=[2]), training=False), tf.float32)
        out = (out + tf.reverse(mirrored, axis=[2])) / 2.0
    return out


def fused_logits(net, photos: Sequence, tta: str = "none"):  # noqa: ANN001, ANN201
    """Logits of one batch of photos given at each of :func:`tta_sizes` (one tensor per size, in
    that order), at the last (largest) size: each size's logits resized there and averaged."""
    import tensorflow as tf

    size = tuple(photos[-1].shape[1:3])
    parts = [logits(net, p, tta) for p in photos]
    parts = [p if tuple(p.shape[1:3]) == size else tf.image.resize(p, size) for p in parts]
    return parts[0] if len(parts) == 1 else tf.add_n(parts) / len(parts)


_TWINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def any_size(net, size: tuple[int, int]):  # noqa: ANN001, ANN201
    """``net`` if it takes photos of ``size``, else its twin for any size (made once per model).

    A Keras model saved for one size checks its input shape, and its convolutions do not care:
    ``keras.models.clone_model`` on a ``(None, None)`` input, keeping the same layer objects, so
    the twin shares the model's weights (and sees any later training of them).
    """
    import keras

    shape = getattr(net, "input_shape", None)
    if not isinstance(net, keras.Model) or tuple(shape[1:3]) in {size, (None, None)}:
        return net
    if net not in _TWINS:
        _TWINS[net] = keras.models.clone_model(
            net, input_tensors=keras.Input((None, None, shape[3])), clone_function=lambda x: x
        )
    return _TWINS[net]


def class_ids(scores, size: Sequence[int] | None = None):  # noqa: ANN001, ANN201
    """Class ids (B, H, W) int32 tensor: logits resized (bilinear) to ``size`` before the argmax."""
    import tensorflow as tf

    if size is not None and tuple(scores.shape[1:3]) != tuple(size):
        scores = tf.image.resize(scores, tuple(int(s) for s in size), method="bilinear")
    return tf.argmax(scores, axis=-1, output_type=tf.int32)


def predict_photo(
    net,  # noqa: ANN001
    photo: np.ndarray,
    input_size: Sequence[int],
    tta: str = DEFAULT_TTA,
) -> np.ndarray:
    """Class ids (H, W) uint8 of one RGB uint8 photo, at the photo's own resolution."""
    import tensorflow as tf

    full = tf.convert_to_tensor(photo)
    batches = [
        tf.cast(data.resize_photo(full, size), tf.float32)[None] / 255.0
        for size in tta_sizes(input_size, tta)
    ]
    return class_ids(fused_logits(net, batches, tta), photo.shape[:2])[0].numpy().astype(np.uint8)
