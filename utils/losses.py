"""Per-pixel losses and class weights; void (255) pixels carry no loss.

``SegmentationLoss`` is the training loss: sparse cross-entropy on logits, optionally weighted by
class (``class_weight_table`` from ``class_pixel_counts``) and combined with a soft Dice term.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

CLASS_WEIGHT_METHODS = ("none", "median", "sqrt")
MAX_CLASS_WEIGHT = 10.0  # clip: a class seen in a handful of pixels must not dominate the loss


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class SegmentationLoss(keras.losses.Loss):
    """Per-pixel sparse cross-entropy on logits, void (255) pixels carry no loss.

    Each image's loss is the (class-weighted) sum over its labelled pixels divided by their
    number; ``class_weights`` (C,) scale each pixel by its true class. ``dice_weight`` adds
    ``dice_weight * (1 - soft Dice)`` averaged over the classes present in the batch's truth.
    Keras' own ``class_weight`` refuses 3-D targets, hence the weights live here.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        dice_weight: float = 0.0,
        name: str = "segmentation_loss",
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):  # noqa: ANN001, ANN201
        """Per-image loss (B,) from ids (B, H, W) and logits (B, H, W, C)."""
        c = self.num_classes
        ids = ops.cast(y_true, "int32")
        valid = ops.logical_and(ids >= 0, ids < c)
        safe = ops.where(valid, ids, 0)
        logits = ops.cast(y_pred, "float32")
        ce = ops.sparse_categorical_crossentropy(safe, logits, from_logits=True)
        weight = ops.cast(valid, "float32")
        if self.class_weights is not None:
            weight = weight * ops.take(ops.convert_to_tensor(self.class_weights), safe)
        n_valid = ops.maximum(ops.sum(ops.cast(valid, "float32"), axis=(1, 2)), 1.0)
        loss = ops.sum(ce * weight, axis=(1, 2)) / n_valid
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(safe, logits, valid, c)
        return loss

    def get_config(self) -> dict:
        """Constructor arguments, for saving."""
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_weights": self.class_weights,
            "dice_weight": self.dice_weight,
        }


def soft_dice_loss(ids, logits, valid, num_classes: int):  # noqa: ANN001, ANN201
    """1 - mean soft Dice over the classes present in the batch truth (void masked out)."""
    mask = ops.expand_dims(ops.cast(valid, "float32"), -1)
    probs = ops.softmax(logits, axis=-1) * mask
    truth = ops.one_hot(ids, num_classes) * mask
    inter = ops.sum(probs * truth, axis=(0, 1, 2))
    sizes = ops.sum(probs, axis=(0, 1, 2)) + ops.sum(truth, axis=(0, 1, 2))
    dice = (2.0 * inter + 1.0) / (sizes + 1.0)
    present = ops.cast(ops.sum(truth, axis=(0, 1, 2)) > 0, "float32")
    return 1.0 - ops.sum(dice * present) / ops.maximum(ops.sum(present), 1.0)


def class_pixel_counts(dataset, num_classes: int) -> np.ndarray:  # noqa: ANN001
    """Pixels per class over a dataset of (photo, ids) batches (void not counted)."""
    import tensorflow as tf  # here, not at the top: the loss itself runs on any Keras backend

    total = tf.zeros([num_classes], tf.int64)
    for _, ids in dataset:
        flat = tf.reshape(tf.cast(ids, tf.int32), [-1])
        flat = tf.boolean_mask(flat, flat < num_classes)
        total += tf.math.bincount(
            flat, minlength=num_classes, maxlength=num_classes, dtype=tf.int64
        )
    return total.numpy()


def class_weight_table(counts: np.ndarray, method: str) -> np.ndarray | None:
    """Per-class loss weights from pixel counts: median frequency or inverse sqrt frequency.

    Weights are normalised so that the average weight per labelled pixel is 1 (the loss keeps
    its scale), clipped at ``MAX_CLASS_WEIGHT`` and normalised again; absent classes get 1.
    """
    if method == "none":
        return None
    counts = np.asarray(counts, dtype=np.float64)
    freq = counts / max(counts.sum(), 1.0)
    seen = freq > 0
    w = np.ones_like(freq)
    if method == "median":
        w[seen] = np.median(freq[seen]) / freq[seen]
    elif method == "sqrt":
        w[seen] = 1.0 / np.sqrt(freq[seen])
    else:
        raise ValueError(f"class weights {method!r}; choose from {CLASS_WEIGHT_METHODS}")
    w /= (w * freq).sum() if seen.any() else 1.0
    w = np.minimum(w, MAX_CLASS_WEIGHT)
    w /= (w * freq).sum() if seen.any() else 1.0
    w[~seen] = 1.0
    return w
