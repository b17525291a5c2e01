"""Label rims: thin bands of a third class that JPEG blur paints between two regions.

The pairs' label images are JPEGs. Where two regions meet, the blur mixes their colours, and the
mix can sit nearest to a third class's colour: halfway between void black (0, 0, 0) and car blue
(0, 0, 142), or between black and any dark colour, lies truck (0, 0, 70). Every road edge at the
ego vehicle's black bonnet gets a one- or two-pixel truck rim. On 300 training labels at
256x256 (``Semantic_out_2/README.md``, "Label rims"), a 3x3 opening of each class's mask
removes 59 % of the truck pixels, 51 % of wall, 42 % of bus, and leaves truck in 70 of the 300
images where nearest-colour decoding finds it in all 300. A network trained on these labels learns
to paint truck along void edges.

The colour of one pixel cannot tell a rim from a real truck, since both are (0, 0, 70). The shape
can: a truck, bus, train or wall is never one or two pixels wide. :func:`rim_pixels` finds
the pixels of such classes that a ``width`` x ``width`` opening (erosion, then dilation, of each
class's mask) removes, and :func:`without_rims` turns them into void: for the training loss when
``TrainConfig.clean_rims`` names classes, and for ``utils.evaluate``'s secondary score. The
main score keeps the labels as decoded, rims included, since held-out labels carry them too; a
model trained without rims finds real trucks far better but scores lower on such labels, so it
is an option, not the default (measured: ``Semantic_out_2/README.md``). Thin classes (pole,
traffic light, bicycle, ...) are never cleaned: their real pixels are thin too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from utils import labels

# The classes whose rims can be left out (``--clean-rims`` alone) and are left out of the secondary
# score: the four where a 3x3 opening removes over 40 % of the pixels, or every pixel in most of
# the labels holding them, all of them objects that are never that thin (measured:
# benchmarks/bench_label_rims.py).
RIM_CLASSES: tuple[str, ...] = ("wall", "truck", "bus", "train")
RIM_WIDTH = 3  # the opening's square: removes bands up to 2 pixels wide at the training size


def check_classes(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple if every one is an official class name, else a ``ValueError``."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"must be a list of class names, e.g. {list(RIM_CLASSES)}")
    unknown = [n for n in names if n not in labels.CLASS_NAMES]
    if unknown:
        raise ValueError(
            f"unknown class(es) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(labels.CLASS_NAMES)}"
        )
    return tuple(names)


def class_ids_of(names: Sequence[str], class_names: Sequence[str]) -> list[int]:
    """Ids in a mapping's ``class_names`` of the classes named (``"car#2"`` counts as car)."""
    wanted = set(names)
    return [i for i, n in enumerate(class_names) if n.split("#")[0] in wanted]


def rim_pixels(ids, class_ids: Sequence[int], width: int = RIM_WIDTH):  # noqa: ANN001, ANN201
    """Bool mask (same shape as ``ids``, (H, W) or (B, H, W)) of the pixels of ``class_ids``
    that a ``width`` x ``width`` opening of their class's mask removes."""
    import tensorflow as tf

    ids = tf.convert_to_tensor(ids)
    if not class_ids:
        return tf.zeros_like(ids, dtype=tf.bool)
    batched = ids if ids.shape.rank == 3 else ids[None]
    x = tf.cast(batched, tf.float32)[..., None]
    # The opening of every class at once, by pooling (Keras and tf.image have no morphology): a
    # pixel survives the erosion of its class iff its window holds one id (max-pool = min-pool;
    # 'SAME' pools see only pixels inside the image), and the dilation keeps every pixel with
    # such a window around it: that window holds only its own id, so the class matches.
    uniform = tf.equal(
        tf.nn.max_pool2d(x, width, 1, "SAME"), -tf.nn.max_pool2d(-x, width, 1, "SAME")
    )
    kept = tf.nn.max_pool2d(tf.cast(uniform, tf.float32), width, 1, "SAME")[..., 0] > 0
    named = tf.reduce_any(
        tf.equal(tf.cast(batched, tf.int32)[..., None], tf.constant(list(class_ids), tf.int32)),
        axis=-1,
    )
    rims = named & ~kept
    return rims if ids.shape.rank == 3 else rims[0]


def without_rims(ids, class_ids: Sequence[int], width: int = RIM_WIDTH):  # noqa: ANN001, ANN201
    """``ids`` with the rim pixels of ``class_ids`` (:func:`rim_pixels`) set to void."""
    import tensorflow as tf

    ids = tf.convert_to_tensor(ids)
    void = tf.constant(labels.IGNORE_ID, ids.dtype)
    return tf.where(rim_pixels(ids, class_ids, width), void, ids)


def _mapped_without_rims(mapper: Callable, class_ids: tuple[int, ...], colours):  # noqa: ANN001, ANN202
    return without_rims(mapper(colours), class_ids)


def rim_free_mapper(mapper: Callable, class_ids: Sequence[int]) -> Callable:
    """A label mapper (colours -> ids, as ``ColourMapping.tf_apply``) that also voids rims."""
    # a partial of a module-level function, not a closure: tf.data's AutoGraph warns about the
    # free variables of a nested function
    return functools.partial(_mapped_without_rims, mapper, tuple(class_ids))


def rim_counts(id_images: Iterable, num_classes: int, chunk: int = 64) -> dict[str, np.ndarray]:
    """Per class over label id images: ``pixels``, ``rims`` (pixels a 3x3 opening removes) and
    their ``share`` of the pixels, ``images`` holding the class and images holding it ``after``
    the opening. Images of one size are opened ``chunk`` at a time (one TensorFlow call each)."""
    every = list(range(num_classes))
    totals = {k: np.zeros(num_classes) for k in ("pixels", "rims", "images", "after")}

    def add(batch: list[np.ndarray]) -> None:
        ids = np.stack(batch)
        rim = rim_pixels(ids, every).numpy()
        for c in every:
            mask = ids == c
            totals["pixels"][c] += mask.sum()
            totals["rims"][c] += (mask & rim).sum()
            totals["images"][c] += mask.any(axis=(1, 2)).sum()
            totals["after"][c] += (mask & ~rim).any(axis=(1, 2)).sum()

    batch: list[np.ndarray] = []
    for ids in id_images:
        ids = np.asarray(ids)
        if batch and (len(batch) == chunk or ids.shape != batch[0].shape):
            add(batch)
            batch = []
        batch.append(ids)
    if batch:
        add(batch)
    totals["share"] = totals["rims"] / np.maximum(totals["pixels"], 1)
    return totals
