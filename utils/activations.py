"""Inside the network: per-stage activation maps and Grad-CAM for segmentation.

Works on any functional Keras model whose layers carry the names of ``utils.model``
(``encoder_1`` .. ``encoder_{depth}``, ``bottleneck``, ``decoder_{i}``, ``logits``); layer names
are parameters, so a tiny test model with the same names serves as well.

Grad-CAM for segmentation (Selvaraju et al. 2017, in the form of Vinogradova et al. 2020): the
score is the sum over the image of one class's logit; channel weights are the spatial mean of the
score's gradient w.r.t. a layer's activations; the map is ReLU(sum_c w_c A_c), upsampled to the
photo (bilinear) and divided by its maximum, so it lies in [0, 1] and zero keeps meaning "no
evidence". Keras has no Grad-CAM, so the few lines here are written by hand.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

ENCODER_PATTERN = re.compile(r"encoder_(\d+)$")
DECODER_PATTERN = re.compile(r"decoder_(\d+)$")
BOTTLENECK = "bottleneck"
# Measured in notebook 06 (model 1, real data, 128 px, 276 val images with cars): the car map puts
# 59 % of its mass on car pixels (5.5 % of the image) at decoder_1, 17-27 % at coarser layers.
DEFAULT_CAM_LAYER = "decoder_1"
REDUCTIONS = ("mean", "top")  # mean over channels, or the channel with the largest mean
BATCH_SIZE = 16
SHOW_MIN_SHARE = 0.01  # a class must cover 1 % of an image to count as shown in it


def _numbered(model: keras.Model, pattern: re.Pattern) -> list[str]:
    """Names of the layers matching ``pattern`` (``prefix_<n>``), ordered by n."""
    found = [(int(m.group(1)), ly.name) for ly in model.layers if (m := pattern.match(ly.name))]
    return [name for _, name in sorted(found)]


def stage_layers(model: keras.Model, bottleneck: str = BOTTLENECK) -> list[str]:
    """Names of the encoder stages in order (fine to coarse), then the bottleneck."""
    names = _numbered(model, ENCODER_PATTERN)
    if not names:
        raise ValueError(f"model {model.name!r} has no layers named encoder_1, encoder_2, ...")
    return names + ([bottleneck] if _has_layer(model, bottleneck) else [])


def decoder_layers(model: keras.Model) -> list[str]:
    """Names of the decoder blocks from coarse (right after the bottleneck) to fine."""
    return _numbered(model, DECODER_PATTERN)[::-1]


def class_indices(
    class_names: Sequence[str], wanted: Sequence[str], strict: bool = True
) -> dict[str, int]:
    """``{name: class index}`` for the wanted names.

    An unknown name raises naming the choices, or (``strict=False``) is left out with a warning,
    e.g. a class that a k-means colour mapping merged into another.
    """
    unknown = [n for n in wanted if n not in class_names]
    if unknown and strict:
        raise KeyError(f"classes {unknown} not in the model's classes: {', '.join(class_names)}")
    if unknown:
        log.warning("classes %s are not among the model's classes; left out", unknown)
    return {n: list(class_names).index(n) for n in wanted if n in class_names}


def pick_image(ids: np.ndarray, classes: Sequence[int], min_share: float = SHOW_MIN_SHARE) -> int:
    """Index of the image where the most of ``classes`` cover ``min_share`` of the pixels.

    Ties go to the image whose smallest such class is largest, so every class is easy to see.
    """
    ids = np.asarray(ids)
    if not len(classes):
        return 0
    shares = np.stack([(ids == c).mean(axis=(1, 2)) for c in classes], axis=1)
    shown = shares >= min_share
    smallest = np.where(shown, shares, np.inf).min(axis=1)
    smallest[~shown.any(axis=1)] = 0
    return int(np.lexsort((-smallest, -shown.sum(axis=1)))[0])


def _has_layer(model: keras.Model, name: str) -> bool:
    """Whether the model has a layer of this name."""
    return any(layer.name == name for layer in model.layers)


def sub_model(model: keras.Model, names: Sequence[str], with_logits: bool = False) -> keras.Model:
    """A model from the same input to the named layers' outputs (and the model output)."""
    missing = [n for n in names if not _has_layer(model, n)]
    if missing:
        have = ", ".join(
            layer.name
            for layer in model.layers
            if not layer.name.endswith(("_conv1", "_conv2", "_dw", "_bn1", "_bn2", "_relu1"))
        )
        raise ValueError(f"model {model.name!r} has no layer {missing}; layers: {have}")
    outputs = [model.get_layer(n).output for n in names]
    if with_logits:
        outputs.append(model.output)
    return keras.Model(model.input, outputs, name=f"{model.name}_probe")


def layer_outputs(
    model: keras.Model, photos: np.ndarray, names: Sequence[str], batch_size: int = BATCH_SIZE
) -> dict[str, np.ndarray]:
    """Activations of the named layers for a stack of photos: ``{name: (N, h, w, C) float32}``."""
    photos = _as_batch(photos)
    probe = sub_model(model, names)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(photos), batch_size):
        outs = probe(photos[start : start + batch_size], training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for name, out in zip(names, outs, strict=True):
            parts[name].append(np.asarray(out, dtype=np.float32))
    return {n: np.concatenate(p) for n, p in parts.items()}


def _as_batch(photos: np.ndarray) -> np.ndarray:
    """A single (H, W, 3) photo or a (N, H, W, 3) stack -> float32 (N, H, W, 3)."""
    photos = np.asarray(photos, dtype=np.float32)
    if photos.ndim == 3:
        photos = photos[None]
    if photos.ndim != 4 or photos.shape[-1] != 3:
        raise ValueError(f"expected photos of shape (N, H, W, 3), got {photos.shape}")
    return photos


def reduce_channels(activation: np.ndarray, reduce: str = "mean") -> np.ndarray:
    """(..., h, w, C) -> (..., h, w): mean over channels, or the channel with the largest mean."""
    if reduce == "mean":
        return activation.mean(axis=-1)
    if reduce == "top":
        top = activation.mean(axis=(-3, -2)).argmax(axis=-1)  # per image
        return np.take_along_axis(activation, top[..., None, None, None], axis=-1)[..., 0]
    raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")


def upsample(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """(h, w) or (N, h, w) maps -> the same at ``size`` = (H, W), bilinear (as the decoder)."""
    maps = np.asarray(maps, dtype=np.float32)
    single = maps.ndim == 2
    x = tf.image.resize(maps[None, ..., None] if single else maps[..., None], tuple(size))
    out = x.numpy()[..., 0]
    return out[0] if single else out


def normalise(maps: np.ndarray) -> np.ndarray:
    """Min-max scale each (h, w) map to [0, 1]; a constant map becomes all zeros."""
    maps = np.asarray(maps, dtype=np.float32)
    lo = maps.min(axis=(-2, -1), keepdims=True)
    span = maps.max(axis=(-2, -1), keepdims=True) - lo
    return np.where(span > 0, (maps - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)


def stage_maps(
    model: keras.Model,
    photo: np.ndarray,
    names: Sequence[str] | None = None,
    reduce: str = "mean",
) -> dict[str, np.ndarray]:
    """One photo -> ``{layer: (H, W) heat map in [0, 1]}`` at the photo's size, fine to coarse."""
    names = list(names or stage_layers(model))
    photo = _as_batch(photo)
    outs = layer_outputs(model, photo, names)
    size = photo.shape[1:3]
    return {n: normalise(upsample(reduce_channels(outs[n][0], reduce), size)) for n in names}


def grad_cam(
    model: keras.Model,
    photos: np.ndarray,
    class_index: int,
    layer: str = DEFAULT_CAM_LAYER,
    batch_size: int = BATCH_SIZE,
) -> np.ndarray:
    """Grad-CAM of the summed logit of ``class_index``: (N, H, W) float32 in [0, 1]."""
    photos = _as_batch(photos)
    probe = sub_model(model, [layer], with_logits=True)
    n_classes = probe.outputs[-1].shape[-1]
    if not 0 <= class_index < n_classes:
        raise ValueError(f"class index {class_index} outside 0..{n_classes - 1}")
    cams = []
    for start in range(0, len(photos), batch_size):
        x = tf.convert_to_tensor(photos[start : start + batch_size])
        with tf.GradientTape() as tape:
            acts, logits = probe(x, training=False)
            # Images are independent at inference, so the gradient of the batch total
            # is each image's own gradient.
            score = tf.reduce_sum(logits[..., class_index])
        # Under a mixed-precision policy the layer output is bfloat16: weigh in float32.
        grads = tf.cast(tape.gradient(score, acts), tf.float32)
        acts = tf.cast(acts, tf.float32)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * acts, axis=-1))
        cams.append(tf.image.resize(cam[..., None], photos.shape[1:3])[..., 0].numpy())
    cam = np.maximum(np.concatenate(cams), 0)  # bilinear keeps >= 0; guard round-off
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0).astype(np.float32)


def mass_share(cams: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per image: share of heat-map mass inside the mask (NaN where the map is all zero)."""
    cams = np.asarray(cams, dtype=np.float64)
    inside = (cams * np.asarray(masks, dtype=bool)).sum(axis=(-2, -1))
    total = cams.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def class_mass_statistic(
    model: keras.Model,
    photos: np.ndarray,
    ids: np.ndarray,
    class_index: int,
    layer: str = DEFAULT_CAM_LAYER,
) -> dict:
    """Grad-CAM mass inside the class's ground-truth pixels vs their pixel share.

    Averaged over the images that contain the class; images whose map is all zero are counted
    (``empty_maps``) and left out of the mean.
    """
    ids = np.asarray(ids)
    masks = ids == class_index
    has = masks.any(axis=(1, 2))
    out = {"layer": layer, "class_index": int(class_index), "images": int(has.sum())}
    if not has.any():
        return {
            **out,
            "mass_share": float("nan"),
            "pixel_share": float("nan"),
            "lift": float("nan"),
            "empty_maps": 0,
        }
    cams = grad_cam(model, np.asarray(photos)[has], class_index, layer)
    shares = mass_share(cams, masks[has])
    ok = ~np.isnan(shares)
    pixel = masks[has].mean(axis=(1, 2))
    mass = float(shares[ok].mean()) if ok.any() else float("nan")
    pix = float(pixel[ok].mean()) if ok.any() else float("nan")
    return {
        **out,
        "mass_share": mass,
        "pixel_share": pix,
        "lift": mass / pix if pix > 0 else float("nan"),
        "empty_maps": int((~ok).sum()),
    }
