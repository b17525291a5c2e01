"""Running a trained model: logits with optional flip test-time augmentation, at any size.

The one place that turns photos into class ids, shared by ``utils.evaluate`` (scores at the
labels' native resolution) and ``utils.predict`` (PNGs at the photo's size): photos are resized to
the model's input size as in training (``utils.data.resize_photo``), the logits are resized back
bilinearly to the wanted size, and their argmax is the class id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from utils.data import resize_photo

TTA_MODES = ("none", "flip")
# What ``utils.predict`` and ``utils.evaluate`` use unless told otherwise: the mirror's logits
# averaged in gained 0.005-0.009 mIoU on every model 2 measured (Semantic_out_2/README.md) for
# twice the forward passes (``--tta none`` is the fast path; training scores without it).
DEFAULT_TTA = "flip"


def check_tta(tta: str) -> str:
    """``tta`` if it is a known mode, else a ``ValueError`` naming the choices."""
    if tta not in TTA_MODES:
        raise ValueError(f"tta={tta!r}; choose from {TTA_MODES}")
    return tta


def logits(net, photos, tta: str = "none"):  # noqa: ANN001, ANN201 - tf tensors
    """Float32 logits (B, h, w, C) of photos (B, h, w, 3) in [0, 1] at the model's input size.

    ``tta="flip"`` averages the logits of each photo and of its mirror image (mirrored back).
    """
    import tensorflow as tf

    out = tf.cast(net(photos, training=False), tf.float32)
    if check_tta(tta) == "flip":
        mirrored = tf.cast(net(tf.reverse(photos, axis=[2]), training=False), tf.float32)
        out = (out + tf.reverse(mirrored, axis=[2])) / 2.0
    return out


def class_ids(net, photos, size: Sequence[int] | None = None, tta: str = "none"):  # noqa: ANN001, ANN201
    """Class ids (B, H, W) int32 tensor: logits resized (bilinear) to ``size`` before the argmax."""
    import tensorflow as tf

    scores = logits(net, photos, tta)
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

    small = resize_photo(tf.convert_to_tensor(photo), tuple(int(s) for s in input_size))
    x = tf.cast(small, tf.float32)[None] / 255.0
    return class_ids(net, x, photo.shape[:2], tta)[0].numpy().astype(np.uint8)
