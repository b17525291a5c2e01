"""The UNet's own Keras layers: the ones Keras has the op for but no layer, and batch norm on
the fused kernel that Keras 3's layer does not use.

All are registered for saving, so a ``model.keras`` that uses them loads wherever
``utils.model`` (which imports this module) is imported.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class PixelShuffle(layers.Layer):
    """Depth to space: (B, H, W, s*s*C) -> (B, s*H, s*W, C). Keras has the op but no layer."""

    def __init__(self, scale: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):  # noqa: ANN001, ANN201
        return ops.depth_to_space(x, self.scale)

    def compute_output_shape(self, shape: tuple) -> tuple:
        b, h, w, c = shape
        s = self.scale
        return (b, h and h * s, w and w * s, c and c // (s * s))

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class PhotoStandardization(layers.Layer):
    """Each photo to mean 0 and standard deviation 1 over its pixels and channels (as
    ``tf.image.per_image_standardization``, whose floor of 1/sqrt(pixels) it keeps for flat
    photos), in the model, so that training, ``utils.predict`` and the notebooks all see it.
    A photo's brightness and contrast, which differ from camera to camera, are divided out;
    Keras' ``Normalization`` layer holds one mean for the whole dataset instead."""

    def call(self, x):  # noqa: ANN001, ANN201
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        _, h, w, c = ops.shape(x)  # numbers, or tensors for a model built for any size
        floor = ops.rsqrt(ops.cast(h * w * c, x.dtype))
        return (x - mean) / ops.maximum(ops.std(x, axis=(1, 2, 3), keepdims=True), floor)

    def compute_output_shape(self, shape: tuple) -> tuple:
        return shape


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class ImageMean(layers.Layer):
    """Every cell gets its image's mean features: (B, H, W, C) -> (B, H, W, C), for any H and W.
    Global average pooling and an upsampling back in one step; ``UpSampling2D`` needs a known
    size and Keras' adaptive pooling does not trace for sizes that change between calls."""

    def call(self, x):  # noqa: ANN001, ANN201
        return ops.broadcast_to(ops.mean(x, axis=(1, 2), keepdims=True), ops.shape(x))

    def compute_output_shape(self, shape: tuple) -> tuple:
        return shape


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras' ``BatchNormalization`` (same weights, same arithmetic) on TensorFlow's fused kernel.

    Keras 3's layer normalizes with separate moments, subtract, scale and shift ops, and their
    gradients; TensorFlow's ``FusedBatchNormV3`` does each direction in one oneDNN kernel. On the
    project's 2-core CPU, Keras' batch norm took 39 % of model 2's training step and the fused
    kernel cut the step to 0.74-0.79x (``benchmarks/bench_step.py``). Written here because no
    Keras 3 layer calls that kernel. Other backends, masks, renorm, synchronized statistics,
    inputs that are not NHWC images and layers without scale or centre use Keras' own code.
    """

    def _fusable(self, inputs, mask) -> bool:  # noqa: ANN001
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.scale
            and self.center
            and not (self.renorm or self.synchronized)
        )

    def call(self, inputs, training=None, mask=None):  # noqa: ANN001, ANN201
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # only on the TensorFlow backend

        x = ops.cast(inputs, self.compute_dtype)  # float16/bfloat16 in, float32 statistics
        gamma, beta = ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32")
        if not (training and self.trainable):
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, gamma, beta, mean=ops.cast(self.moving_mean, "float32"),
                variance=ops.cast(self.moving_variance, "float32"), epsilon=self.epsilon,
                is_training=False,
            )  # fmt: skip
            return y
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, is_training=True
        )
        # The kernel returns the variance with Bessel's correction; Keras' layer keeps the
        # population variance in its moving average, so this does too.
        n = ops.cast(ops.prod(ops.shape(x)[:-1]), "float32")
        variance = variance * (n - 1.0) / ops.maximum(n, 2.0)
        m = self.momentum
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            moving.assign(moving * m + ops.cast(batch, moving.dtype) * (1.0 - m))
        return y


@keras.saving.register_keras_serializable(package="cityscapes_unet")
class RowProfile(layers.Layer):
    """Each row's mean features and its height in the image: (B, H, W, C) -> (B, H, 1, C + 1),
    the last channel running from -1 (top row) to 1 (bottom row) whatever H is. The input of a
    height-driven attention (``utils.blocks.height_attention``); Keras has no layer that pools
    over one axis alone or adds a coordinate channel (CoordConv)."""

    def call(self, x):  # noqa: ANN001, ANN201
        rows = ops.mean(x, axis=2, keepdims=True)
        h = ops.shape(x)[1]
        height = ops.linspace(-1.0, 1.0, h, dtype=rows.dtype)
        height = ops.broadcast_to(ops.reshape(height, (1, -1, 1, 1)), ops.shape(rows)[:3] + (1,))
        return ops.concatenate([rows, height], axis=-1)

    def compute_output_shape(self, shape: tuple) -> tuple:
        b, h, _, c = shape
        return (b, h, 1, c and c + 1)
