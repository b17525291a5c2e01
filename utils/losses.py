"""Per-pixel losses and class weights; void (255) pixels carry no loss.

``SegmentationLoss`` is the training loss: sparse cross-entropy on logits, optionally weighted by
class (``class_weight_table`` from ``class_pixel_counts``), optionally on the hardest pixels only
(online hard-pixel mining), and combined with a soft Dice term and the Lovasz-softmax loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

# inverse-frequency weights: each class's frequency to the power -k (root4: halfway, in log
# scale, between sqrt and none)
FREQUENCY_POWERS = {"sqrt": 0.5, "root4": 0.25}
CLASS_WEIGHT_METHODS = ("none", "median", *FREQUENCY_POWERS)
# The Lovasz term reads every LOVASZ_STRIDE-th pixel of every LOVASZ_STRIDE-th row: its per-class
# sort is the cost (on the 2-core CPU, 0.81 s for a batch of 16 at 128 px, 0.20 s at stride 2,
# against a 0.7 s training step), and model 2's scores are upsampled from half size anyway.
LOVASZ_STRIDE = 2
MAX_CLASS_WEIGHT = 10.0  # clip: a class seen in a handful of pixels must not dominate the loss


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class SegmentationLoss(keras.losses.Loss):
    """Per-pixel sparse cross-entropy on logits, void (255) pixels carry no loss.

    Each image's loss is the (class-weighted) sum over its labelled pixels divided by their
    number; ``class_weights`` (C,) scale each pixel by its true class. ``hard_pixels`` in (0, 1)
    keeps only that fraction of each image's pixels, those with the largest (weighted) loss
    (online hard-pixel mining: easy road and sky pixels stop drowning thin objects' edges).
    ``dice_weight`` adds ``dice_weight * (1 - soft Dice)`` and ``lovasz_weight`` the
    Lovasz-softmax loss, both over the classes present in the batch's truth.
    Keras' own ``class_weight`` refuses 3-D targets, hence the weights live here.
    """

    def __init__(
        self,
        num_classes: int,
        class_weights: Sequence[float] | None = None,
        dice_weight: float = 0.0,
        lovasz_weight: float = 0.0,
        hard_pixels: float = 0.0,
        name: str = "segmentation_loss",
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if not 0.0 <= float(hard_pixels) < 1.0:
            raise ValueError(f"hard_pixels must be in [0, 1) (0: every pixel), got {hard_pixels}")
        self.num_classes = int(num_classes)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.dice_weight = float(dice_weight)
        self.lovasz_weight = float(lovasz_weight)
        self.hard_pixels = float(hard_pixels)

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
        if self.hard_pixels:
            loss = hardest_pixels_mean(ce * weight, n_valid, self.hard_pixels)
        else:
            loss = ops.sum(ce * weight, axis=(1, 2)) / n_valid
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(safe, logits, valid, c, ce)
        if self.lovasz_weight:
            k = LOVASZ_STRIDE
            loss = loss + self.lovasz_weight * lovasz_softmax_loss(
                safe[:, ::k, ::k], logits[:, ::k, ::k], valid[:, ::k, ::k], c
            )
        return loss

    def get_config(self) -> dict:
        """Constructor arguments, for saving."""
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_weights": self.class_weights,
            "dice_weight": self.dice_weight,
            "lovasz_weight": self.lovasz_weight,
            "hard_pixels": self.hard_pixels,
        }


def hardest_pixels_mean(pixel_loss, n_valid, fraction: float):  # noqa: ANN001, ANN201
    """Per image (B,): the mean of the ``fraction`` largest pixel losses of (B, H, W), counted
    among its labelled pixels (``n_valid``); void pixels have loss 0, so they come last."""
    flat = ops.reshape(pixel_loss, (ops.shape(pixel_loss)[0], -1))
    k = _pixel_count(flat)
    k = max(1, math.ceil(fraction * k)) if isinstance(k, int) else ops.maximum(
        ops.cast(ops.ceil(fraction * ops.cast(k, "float32")), "int32"), 1
    )  # fmt: skip
    top, _ = ops.top_k(flat, k)  # largest first
    kept = ops.maximum(ops.ceil(fraction * n_valid), 1.0)  # <= k: at most H*W pixels are labelled
    rank = ops.cast(ops.arange(ops.shape(top)[-1]), "float32")
    return ops.sum(ops.where(rank[None] < kept[:, None], top, 0.0), axis=-1) / kept


def soft_dice_loss(ids, logits, valid, num_classes: int, ce=None):  # noqa: ANN001, ANN201
    """1 - mean soft Dice over the classes present in the batch truth (void masked out).

    Computed without one-hot images (a (B, H, W, C) product per term was a third of the loss's
    time): each labelled pixel's probability of its true class is exp(-cross-entropy) (``ce``,
    the per-pixel sparse cross-entropy of these ``ids`` and ``logits``, when the caller has it)
    and is summed per class by ``segment_sum``, the probabilities over labelled pixels by one
    matrix product. On the 2-core CPU the loss's forward and backward passes took 0.86x the time
    of the one-hot form for a batch of 8 at 128 x 256 (``benchmarks/bench_loss.py``)."""
    ids = ops.cast(ids, "int32")
    if ce is None:
        ce = ops.sparse_categorical_crossentropy(ids, logits, from_logits=True)
    mask = ops.reshape(ops.cast(valid, "float32"), (-1,))
    flat_ids = ops.reshape(ids, (-1,))
    probs = ops.softmax(ops.reshape(logits, (-1, num_classes)), axis=-1)
    inter = ops.segment_sum(ops.exp(-ops.reshape(ce, (-1,))) * mask, flat_ids, num_classes)
    counts = ops.segment_sum(mask, flat_ids, num_classes)
    sizes = ops.matmul(mask[None], probs)[0] + counts
    dice = (2.0 * inter + 1.0) / (sizes + 1.0)
    present = ops.cast(counts > 0, "float32")
    return 1.0 - ops.sum(dice * present) / ops.maximum(ops.sum(present), 1.0)


def lovasz_softmax_loss(ids, logits, valid, num_classes: int):  # noqa: ANN001, ANN201
    """The Lovasz-softmax loss (Berman et al., CVPR 2018) over the batch: a smooth surrogate of
    1 - IoU per class, averaged over the classes present in the batch truth (void masked out).

    Written here because neither Keras nor TensorFlow ships it: for each class, the pixels'
    errors |truth - probability| sorted in decreasing order, dotted with the gradient of the
    Jaccard loss along that order (the Lovasz extension of the set function 1 - IoU).
    """
    mask = ops.reshape(ops.cast(valid, "float32"), (-1, 1))
    probs = ops.reshape(ops.softmax(logits, axis=-1), (-1, num_classes)) * mask
    truth = ops.reshape(ops.one_hot(ids, num_classes), (-1, num_classes)) * mask
    errors = ops.transpose(ops.abs(truth - probs))  # (C, N); void pixels: 0, so they sort last
    sorted_errors, order = ops.top_k(errors, _pixel_count(errors))
    fg = ops.take_along_axis(ops.transpose(truth), order, axis=-1)
    total = ops.sum(fg, axis=-1, keepdims=True)
    intersection = total - ops.cumsum(fg, axis=-1)
    union = total + ops.cumsum(1.0 - fg, axis=-1)
    jaccard = 1.0 - intersection / ops.maximum(union, 1.0)
    grad = ops.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=-1)
    per_class = ops.sum(sorted_errors * ops.stop_gradient(grad), axis=-1)
    present = ops.cast(ops.squeeze(total, -1) > 0, "float32")
    return ops.sum(per_class * present) / ops.maximum(ops.sum(present), 1.0)


def _pixel_count(x):  # noqa: ANN001, ANN202
    """The last axis' length: a Python int where the shape is static (JAX traces with concrete
    shapes), else a tensor (TensorFlow traces the UNet's ``(None, None)`` input size)."""
    return x.shape[-1] if x.shape[-1] is not None else ops.shape(x)[-1]


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
    """Per-class loss weights from pixel counts: median frequency, or the inverse square root
    (``sqrt``) or fourth root (``root4``) of the frequency.

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
    elif method in FREQUENCY_POWERS:
        w[seen] = freq[seen] ** -FREQUENCY_POWERS[method]
    else:
        raise ValueError(f"class weights {method!r}; choose from {CLASS_WEIGHT_METHODS}")
    w /= (w * freq).sum() if seen.any() else 1.0
    w = np.minimum(w, MAX_CLASS_WEIGHT)
    w /= (w * freq).sum() if seen.any() else 1.0
    w[~seen] = 1.0
    return w
