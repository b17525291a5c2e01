"""The UNet's own Keras layers: the ones Keras has the op for but no layer.

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
