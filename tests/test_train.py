"""Training: the loss ignores void, learning happens, snapshots and the model folder, resume,
and a run under a mirrored strategy over two logical CPU devices."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import ROOT, write_image

from utils import (
    augment,
    budget,
    checks,
    config,
    data,
    history,
    labels,
    losses,
    model,
    progressive,
    train,
)
from utils.colours import ColourMapping
from utils.labels import IGNORE_ID

SCENE_CLASSES = ("sky", "building", "road", "car", "vegetation")


def scene_pair(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A street-like pair: sky, buildings, a tree, road and a car; photo = shaded label + noise."""
    c = {n: labels.TRAIN_LABELS[labels.class_id(n)].colour for n in SCENE_CLASSES}
    lab = np.zeros((size, size, 3), np.uint8)
    h, g = rng.integers(size // 5, size // 3), rng.integers(size // 2, 2 * size // 3)
    lab[:h], lab[h:g], lab[g:] = c["sky"], c["building"], c["road"]
    x = rng.integers(0, size // 2)
    lab[h:g, x : x + size // 6] = c["vegetation"]
    cx, cy = rng.integers(0, size - size // 4), rng.integers(g - size // 8, size - size // 6)
    lab[cy : cy + size // 8, cx : cx + size // 4] = c["car"]
    noise = rng.normal(0, 12, lab.shape)
    photo = (lab[..., ::-1].astype(int) // 2 + 60 + noise).clip(0, 255).astype(np.uint8)
    return np.concatenate([photo, lab], axis=1)


def write_scenes(folder: Path, n_train: int, n_val: int, seed: int = 0) -> Path:
    """A dataset folder (train/ and val/ PNG pairs) of street-like scenes."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            write_image(folder / split / f"{i}.png", scene_pair(rng))
    return folder


def sample(folder: Path, n_train: int, n_val: int) -> Path:
    """The project's synthetic sample when its generator exists, else the scenes above."""
    try:
        from utils import synthetic
    except ImportError:
        return write_scenes(folder, n_train, n_val)
    return synthetic.generate(folder, n_train=n_train, n_val=n_val, seed=0, progress=False)


# --------------------------------------------------------------------------- loss and weights
def test_void_pixels_carry_no_loss() -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 4, (2, 8, 8)).astype(np.uint8)
    ids[:, :3] = IGNORE_ID
    logits = rng.normal(size=(2, 8, 8, 4)).astype(np.float32)
    changed = logits.copy()
    changed[:, :3] = rng.normal(size=(2, 3, 8, 4)) * 50  # only void pixels change
    for loss in (losses.SegmentationLoss(4), losses.SegmentationLoss(4, [1, 3, 0.5, 2], 0.5)):
        a, b = float(loss(ids, logits)), float(loss(ids, changed))
        assert a == pytest.approx(b, rel=1e-6) and a > 0
    all_void = np.full((1, 8, 8), IGNORE_ID, np.uint8)
    assert float(losses.SegmentationLoss(4)(all_void, logits[:1])) == 0.0
    # Without class weights the loss is the mean cross-entropy over labelled pixels.
    ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_ID)
    assert float(losses.SegmentationLoss(4)(ids, logits)) == pytest.approx(
        float(ref(ids, logits)), 1e-5
    )


def test_soft_dice_term() -> None:
    """Dice (the default recipe's second term): ~0 when right, large when unsure; gradients
    reach every labelled pixel and none reach void pixels."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    ids = rng.integers(0, 4, (2, 8, 8)).astype(np.uint8)
    ids[:, :2] = IGNORE_ID
    valid = ids != IGNORE_ID
    safe = np.where(valid, ids, 0)
    right = 20.0 * np.eye(4, dtype=np.float32)[safe]
    assert float(losses.soft_dice_loss(safe, right, valid, 4)) < 0.01
    unsure = np.zeros((2, 8, 8, 4), np.float32)
    assert float(losses.soft_dice_loss(safe, unsure, valid, 4)) > 0.5
    logits = tf.Variable(rng.normal(size=(2, 8, 8, 4)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = losses.SegmentationLoss(4, dice_weight=1.0)(ids, logits)
    grad = np.abs(tape.gradient(loss, logits).numpy()).sum(-1)
    assert np.all(grad[valid] > 0) and np.all(grad[~valid] == 0)
    # The same value as the textbook form on one-hot images (void masked out).
    mask = valid[..., None].astype(np.float32)
    probs = tf.nn.softmax(logits).numpy() * mask
    truth = np.eye(4, dtype=np.float32)[safe] * mask
    inter, sizes = (probs * truth).sum((0, 1, 2)), probs.sum((0, 1, 2)) + truth.sum((0, 1, 2))
    present = truth.sum((0, 1, 2)) > 0
    expected = 1 - ((2 * inter + 1) / (sizes + 1))[present].mean()
    assert float(losses.soft_dice_loss(safe, logits, valid, 4)) == pytest.approx(expected, 1e-5)
    assert train.TrainConfig().dice_weight == 1.0  # model 1's, as measured
    assert train.TrainConfig(variant="model2").dice_weight == 2.0  # model 2's (Semantic_out_2)
    assert train.TrainConfig(variant="model2", dice_weight=0.0).dice_weight == 0.0  # a choice
    assert train.TrainConfig.plain().dice_weight == 0.0


def test_batch_size_is_the_variants_own_unless_given() -> None:
    assert train.TrainConfig(variant="model1").batch_size == 16
    assert train.TrainConfig(variant="model2").batch_size == 8  # measured: Semantic_out_2
    assert train.TrainConfig(variant="model2", batch_size=16).batch_size == 16
    args = train.parse_args(["--data", "d", "--out", "o", "--variant", "model2"])
    assert config.from_args(args).batch_size == 8


def test_every_recipe_flag_reaches_its_config_field() -> None:
    flags = {"--variant": "model2", "--epochs": "3", "--minutes": "2.5", "--image-size": "64",
             "--image-width": "128", "--batch-size": "4", "--lr": "0.01", "--weight-decay": "0",
             "--schedule": "constant", "--augment": "flip", "--class-weights": "none",
             "--dice": "0.5", "--lovasz": "0.25", "--hard-pixels": "0.2", "--rare-repeat": "0.1",
             "--max-train": "7", "--max-val": "5", "--precision": "off", "--seed": "3"}  # fmt: skip
    argv = ["--data", "d", "--out", "o", *(x for kv in flags.items() for x in kv)]
    cfg = config.from_args(train.parse_args([*argv, "--paste-classes", "bus"]))
    got = (cfg.variant, cfg.epochs, cfg.train_minutes, cfg.size, cfg.batch_size, cfg.learning_rate,
           cfg.weight_decay, cfg.schedule, cfg.augment, cfg.class_weights, cfg.dice_weight,
           cfg.lovasz_weight, cfg.hard_pixels, cfg.rare_repeat, cfg.max_train_images,
           cfg.max_val_images, cfg.mixed_precision, cfg.seed, cfg.paste_classes)  # fmt: skip
    assert got == ("model2", 3, 2.5, (64, 128), 4, 0.01, 0, "constant", "flip", "none", 0.5,
                   0.25, 0.2, 0.1, 7, 5, "off", 3, ("bus",))  # fmt: skip
    alone = config.from_args(train.parse_args([*argv, "--paste-classes"]))
    assert alone.paste_classes == augment.RARE_THINGS  # the flag alone: the measured classes
    zoom = config.from_args(train.parse_args([*argv, "--min-zoom", "0.75", "--max-zoom", "2"]))
    assert (zoom.min_zoom, zoom.max_zoom) == (0.75, 2.0)
    plain = config.from_args(train.parse_args(["--data", "d", "--out", "o", "--plain"]))
    assert plain.augment == "none" and plain.paste_classes == () and plain.epochs == 12


def test_snapshot_title_names_the_size_its_scores_were_measured_at() -> None:
    """The per-epoch figures show Keras' validation scores, measured at the input size: the
    title says so, so they are not read as the native-resolution scores reported elsewhere."""
    logs = {"loss": 1.5, "val_pixel_accuracy": 0.8, "val_mean_iou": 0.4, "val_loss": 2.0}
    title = history.snapshot_title("Model 2", 3, logs, (128, 256))
    assert title == (
        "Model 2, epoch 3: loss 1.500; validation at 128x256: pixel accuracy 0.800, mIoU 0.400"
    )
    no_scores = history.snapshot_title("Model 1", 1, {"loss": 2.25}, (64, 64))
    assert no_scores == "Model 1, epoch 1: loss 2.250"


def test_learning_curves_shade_the_epochs_on_small_photos() -> None:
    """A progressive run's first epochs (from its config) are shaded, once per axis, and named
    once in the legend; a model without them gets no shading."""
    import matplotlib.pyplot as plt

    from utils.viz import training as training_viz

    config = {"training": {"early_share": 0.4, "epochs": 36}}
    assert history.small_epochs(config) == 14  # the README command's first plan: 14 of 36
    assert history.small_epochs({"training": {"early_share": 0.0, "epochs": 36}}) == 0
    cols = {"epoch": np.arange(1, 6, dtype=float)}
    for key in ("loss", "pixel_accuracy", "mean_iou"):
        cols[key] = cols["val_" + key] = np.linspace(0.1, 0.5, 5)
    fig = training_viz.learning_curves({"model1": cols, "model2": cols}, "t", {"model2": 2})
    spans = [p for ax in fig.axes for p in ax.patches]
    assert len(spans) == 3  # model 2 on each of the three axes, model 1 none
    assert [(p.get_x(), p.get_x() + p.get_width()) for p in spans] == [(0.5, 2.5)] * 3
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert legend.count("model2 on small photos") == 1
    assert fig.get_suptitle() == "t (validation at the input size)"
    plt.close(fig)


def test_every_readme_training_command_gives_a_checked_recipe() -> None:
    """The README's ``python -m utils.train`` lines parse and pass ``TrainConfig.check``."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    pattern = r"^\s*(?:\.venv/bin/)?python -m utils\.train (.*)$"
    commands = re.findall(pattern, text, flags=re.MULTILINE)
    assert len(commands) >= 10
    for line in commands:
        argv = shlex.split(line.replace("$D", "d"), comments=True)
        assert config.from_args(train.parse_args(argv)).check()


def test_progressive_resizing_size_comes_from_the_command_line() -> None:
    flags = ["--data", "d", "--out", "o", "--variant", "model2", "--image-size", "128"]
    flags += ["--image-width", "256", "--early-share", "0.4"]
    with pytest.raises(checks.ParameterError, match="early_scale=0.66"):
        config.from_args(train.parse_args(flags))  # 2/3 of 128 x 256: 85 x 171, refused
    half = config.from_args(train.parse_args([*flags, "--early-scale", "0.5"]))
    assert half.size == (128, 256) and half.early_size == (64, 128)


def test_peak_learning_rate_is_the_variants_own_unless_given() -> None:
    assert train.TrainConfig(variant="model1").learning_rate == 2e-3
    assert train.TrainConfig(variant="model2").learning_rate == 8e-3  # the strided-stem UNet
    assert train.TrainConfig(variant="model2", learning_rate=1e-3).learning_rate == 1e-3
    assert train.TrainConfig.plain(variant="model2").learning_rate == 1e-3


def test_decay_shape_is_the_variants_own_unless_given() -> None:
    """Model 2 decays its learning rate linearly (measured: Semantic_out_2), model 1 by a cosine;
    a schedule named in the config, on the command line or in a saved run wins."""
    assert train.TrainConfig(variant="model1").schedule == "cosine"
    model2 = train.TrainConfig(variant="model2", epochs=10)
    assert model2.schedule == "linear"
    assert model2.learning_rate_schedule(5).get_config()["shape"] == "linear"
    assert train.TrainConfig(variant="model2", schedule="cosine").schedule == "cosine"
    assert train.TrainConfig.plain(variant="model2").schedule == "constant"
    args = train.parse_args(["--data", "d", "--out", "o", "--variant", "model2"])
    assert config.from_args(args).schedule == "linear"
    saved = dataclasses.asdict(train.TrainConfig(variant="model1"))  # as config.json holds it
    assert train.TrainConfig(**{**saved, "variant": "model2"}).schedule == "cosine"


def test_weight_decay_shrinks_kernels_only() -> None:
    assert type(train.TrainConfig(variant="model1").optimizer(1e-3)) is keras.optimizers.Adam
    assert train.TrainConfig(variant="model2").weight_decay == 0.05  # measured: Semantic_out_2
    assert train.TrainConfig(variant="model2", weight_decay=0).weight_decay == 0  # plain Adam
    assert train.TrainConfig.plain(variant="model2").weight_decay == 0
    args = train.parse_args(["--data", "d", "--out", "o", "--weight-decay", "0.5"])
    cfg = config.from_args(args)
    net = model.build_unet(3, (32, 32), "model1", widths=(4, 8), bridge=8)
    opt = cfg.optimizer(0.1)
    assert isinstance(opt, keras.optimizers.AdamW) and opt.weight_decay == 0.5
    net.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    zero = np.zeros((2, 32, 32, 3), np.float32)
    for v in net.trainable_variables:  # zero gradients wherever the photo is black
        if "gamma" not in v.path:
            v.assign(np.full(v.shape, 0.5 if "kernel" in v.path else 0.0, np.float32))
    before = {v.path: v.numpy() for v in net.trainable_variables}
    net.train_on_batch(zero, np.zeros((2, 32, 32), np.int32))
    for v in net.trainable_variables:
        shrunk = np.abs(v.numpy()).sum() < np.abs(before[v.path]).sum() - 1e-6
        assert shrunk == ("kernel" in v.path), v.path  # BN scales, offsets and biases kept


def test_lovasz_term_is_one_minus_iou_on_hard_predictions() -> None:
    """The Lovasz extension agrees with 1 - IoU where predictions are certain: averaged over the
    classes present in the truth; void pixels count nowhere."""
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 3, (2, 6, 6))
    pred = np.where(rng.random(ids.shape) < 0.3, rng.integers(0, 3, ids.shape), ids)
    valid = rng.random(ids.shape) > 0.2
    safe = np.where(valid, ids, 0)
    logits = 60.0 * np.eye(3, dtype=np.float32)[pred]  # softmax is one-hot to float precision
    ious = []
    for c in range(3):
        t, p = (ids == c) & valid, (pred == c) & valid
        if t.any():
            ious.append((t & p).sum() / (t | p).sum())
    got = float(losses.lovasz_softmax_loss(safe, logits, valid, 3))
    assert got == pytest.approx(1.0 - np.mean(ious), abs=1e-5)


def test_lovasz_term_in_the_loss_flows_to_labelled_pixels_only() -> None:
    """In ``SegmentationLoss`` the Lovasz term reads every LOVASZ_STRIDE-th pixel: gradients
    reach those labelled pixels and no void pixel; changing void logits changes nothing."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    ids = rng.integers(0, 4, (2, 8, 8)).astype(np.uint8)
    ids[:, :2] = IGNORE_ID
    loss = losses.SegmentationLoss(4, lovasz_weight=1.0)  # cross-entropy + Lovasz
    logits = tf.Variable(rng.normal(size=(2, 8, 8, 4)).astype(np.float32))
    valid = ids != IGNORE_ID
    with tf.GradientTape() as tape:
        value = losses.lovasz_softmax_loss(np.where(valid, ids, 0), logits, valid, 4)
    grad = np.abs(tape.gradient(value, logits).numpy()).sum(-1)
    assert np.all(grad[~valid] == 0) and (grad[valid] > 0).mean() > 0.9
    changed = logits.numpy().copy()
    changed[:, :2] = rng.normal(size=(2, 2, 8, 4)) * 50
    assert float(loss(ids, logits)) == pytest.approx(float(loss(ids, changed)), rel=1e-6)
    with_term = float(loss(ids, logits)) - float(losses.SegmentationLoss(4)(ids, logits))
    k = losses.LOVASZ_STRIDE
    sub = (ids[:, ::k, ::k], logits.numpy()[:, ::k, ::k])
    v = sub[0] != IGNORE_ID
    expected = float(losses.lovasz_softmax_loss(np.where(v, sub[0], 0), sub[1], v, 4))
    assert with_term == pytest.approx(expected, rel=1e-5) and expected > 0


def test_hard_pixel_mining_averages_the_hardest_labelled_pixels() -> None:
    """``hard_pixels=f``: each photo's loss is the mean of its largest f of labelled pixels'
    cross-entropies; void pixels neither count nor get picked; f = 0 is the plain mean."""
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 3, (2, 4, 8)).astype(np.uint8)
    ids[0, :2] = IGNORE_ID  # photo 0: 16 labelled pixels; photo 1: 32
    logits = rng.normal(size=(2, 4, 8, 3)).astype(np.float32) * 3
    ce = -np.log(np.take_along_axis(
        np.exp(logits) / np.exp(logits).sum(-1, keepdims=True),
        np.where(ids == IGNORE_ID, 0, ids)[..., None].astype(int), -1,
    )[..., 0])  # fmt: skip
    got = losses.SegmentationLoss(3, hard_pixels=0.25).call(ids, logits).numpy()
    for i, n_kept in ((0, 4), (1, 8)):  # a quarter of the labelled pixels
        hardest = np.sort(ce[i][ids[i] != IGNORE_ID])[::-1][:n_kept]
        assert got[i] == pytest.approx(hardest.mean(), rel=1e-5)
    plain = losses.SegmentationLoss(3).call(ids, logits).numpy()
    assert np.all(got > plain)  # the hardest pixels cost more than the average one
    with pytest.raises(ValueError, match="hard_pixels must be in"):
        losses.SegmentationLoss(3, hard_pixels=1.0)


def test_new_loss_terms_train_a_unet_of_any_input_size() -> None:
    """Inside a compiled UNet (input size None x None, as built for training) the hard-pixel and
    Lovasz terms trace with unknown shapes, and a few steps on one batch lower the loss."""
    from utils import model

    rng = np.random.default_rng(5)
    x = rng.random((4, 32, 32, 3), dtype=np.float32)
    y = (x[..., 0] > 0.5).astype(np.uint8) + 2 * (x[..., 1] > 0.5)  # learnable from the pixel
    y[:, :4] = IGNORE_ID
    keras.utils.set_random_seed(0)
    net = model.build_unet(4, (None, None), "model1", widths=(8, 16))
    cfg = train.TrainConfig(lovasz_weight=1.0, hard_pixels=0.25, learning_rate=1e-2)
    net.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=cfg.loss(4, None))
    first = float(net.train_on_batch(x, y))
    for _ in range(15):
        last = float(net.train_on_batch(x, y))
    assert np.isfinite(first) and last < 0.8 * first


def test_recipe_builds_its_loss_and_it_round_trips() -> None:
    cfg = train.TrainConfig(variant="model2", lovasz_weight=0.5, hard_pixels=0.3)
    loss = cfg.loss(4, [1.0, 2.0, 1.0, 1.0])
    assert (loss.dice_weight, loss.lovasz_weight, loss.hard_pixels) == (2.0, 0.5, 0.3)  # model 2's
    again = losses.SegmentationLoss.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()
    assert train.TrainConfig().loss(4, None).class_weights is None


def test_class_weights_scale_pixels() -> None:
    ids = np.array([[[0, 1]]], np.uint8)
    logits = np.zeros((1, 1, 2, 2), np.float32)  # CE = log 2 for both pixels
    loss = losses.SegmentationLoss(2, [1.0, 3.0])
    assert float(loss(ids, logits)) == pytest.approx((1 + 3) * np.log(2) / 2, rel=1e-5)


@pytest.mark.parametrize("method", ["median", "sqrt", "root4"])
def test_class_weight_table(method: str) -> None:
    counts = np.array([900, 90, 9, 1, 0])
    w = losses.class_weight_table(counts, method)
    freq = counts / counts.sum()
    assert (w * freq).sum() == pytest.approx(1.0)  # the loss keeps its scale
    assert np.all(np.diff(w[:4]) >= 0) and w[3] > 5 * w[0] and w[4] == 1.0
    assert w.max() <= 2 * losses.MAX_CLASS_WEIGHT  # clipped (then renormalised)
    assert losses.class_weight_table(counts, "none") is None


def test_fourth_root_weights_sit_halfway_between_none_and_sqrt() -> None:
    """In log scale, ``root4``'s weight ratios are half of ``sqrt``'s (none: all equal)."""
    counts = np.array([400, 200, 100, 50])  # no weight reaches the clip
    sqrt, root4 = (losses.class_weight_table(counts, m) for m in ("sqrt", "root4"))
    np.testing.assert_allclose(root4 / root4[0], np.sqrt(sqrt / sqrt[0]), rtol=1e-9)
    assert root4[-1] / root4[0] == pytest.approx(8**0.25)


def test_zoom_crop_keeps_exact_labels() -> None:
    import tensorflow as tf

    ids = np.zeros((4, 32, 32), np.uint8)
    ids[:, 16:] = 2
    ids[:, :, :4] = IGNORE_ID
    photos = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    seed = tf.constant([1, 2], tf.int64)
    p2, i2 = augment.zoom_crop_batch(tf.constant(photos), tf.constant(ids), seed, 1.5, p=1.0)
    assert p2.shape == photos.shape and i2.shape == ids.shape
    assert set(np.unique(i2.numpy())) <= {0, 2, IGNORE_ID}  # nearest: no blended ids
    assert not np.array_equal(i2.numpy(), ids)  # zoomed
    jitter = augment.colour_jitter_batch(tf.constant(photos), seed).numpy()
    assert jitter.min() >= 0 and jitter.max() <= 1


def test_zoom_out_shrinks_the_photo_into_a_void_frame() -> None:
    """A zoom of 0.5 (``min_zoom``): the whole photo at half the side, somewhere in the frame;
    around it black pixels whose labels are void, so they carry no loss; the class ids inside
    are the photo's own, in its own proportions."""
    import tensorflow as tf

    ids = np.zeros((4, 32, 32), np.uint8)
    ids[:, 16:] = 2  # bottom half class 2
    photos = np.full((4, 32, 32, 3), 0.5, np.float32)
    seed = tf.constant([3, 4], tf.int64)
    p2, i2 = (t.numpy() for t in augment.zoom_crop_batch(
        tf.constant(photos), tf.constant(ids), seed, 0.5, p=1.0, min_zoom=0.5
    ))  # fmt: skip
    for photo, label in zip(p2, i2, strict=True):
        inside = label != IGNORE_ID
        assert 14 * 14 <= inside.sum() <= 18 * 18  # a quarter of the pixels: half the side
        rows, cols = np.nonzero(inside)
        box = label[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box != IGNORE_ID).all()  # one photo-shaped window, void all around it
        assert set(np.unique(box[: box.shape[0] // 2 - 1])) == {0}
        assert set(np.unique(box[box.shape[0] // 2 + 1 :])) == {2}
        np.testing.assert_array_equal(photo[~inside], 0.0)  # the frame is black
        np.testing.assert_allclose(photo[inside], 0.5, atol=1e-6)
    placed = [tuple(np.argwhere(label != IGNORE_ID).min(axis=0)) for label in i2]
    assert len(set(placed)) > 1  # at random places


def test_min_zoom_is_checked() -> None:
    with pytest.raises(ValueError, match="min_zoom"):
        train.TrainConfig(min_zoom=1.5).check()
    with pytest.raises(ValueError, match="min_zoom"):
        train.TrainConfig(min_zoom=0.0).check()


def test_photometric_changes_exposure_not_labels() -> None:
    """The "photo" mode: values stay in [0, 1], images get darker and brighter, colours and
    contrast change per image, labels and geometry stay as they were (flips aside)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    photos = rng.uniform(0.2, 0.8, (64, 16, 16, 3)).astype(np.float32)
    out = augment.photometric_batch(tf.constant(photos), tf.constant([5, 6], tf.int64)).numpy()
    assert out.shape == photos.shape and out.min() >= 0 and out.max() <= 1
    change = out.mean(axis=(1, 2, 3)) - photos.mean(axis=(1, 2, 3))
    assert change.min() < -0.05 and change.max() > 0.05  # darker and brighter images
    spread = out.std(axis=(1, 2, 3)) / photos.std(axis=(1, 2, 3))
    assert spread.min() < 0.8 and spread.max() > 1.2  # flatter and punchier images
    ids = rng.integers(0, 3, (64, 16, 16)).astype(np.uint8)
    ds = tf.data.Dataset.from_tensors((photos, ids))
    (p1, i1), (p2, i2) = (next(iter(augment.augment(ds, "photo", seed=1))) for _ in range(2))
    assert np.array_equal(p1.numpy(), p2.numpy())  # reproducible from the seed
    flipped = np.any(i1.numpy() != ids, axis=(1, 2))
    assert np.array_equal(i1.numpy()[~flipped], ids[~flipped])  # ids untouched but for flips
    assert np.array_equal(i1.numpy()[flipped], ids[flipped][:, :, ::-1])
    assert not np.allclose(p1.numpy()[~flipped], photos[~flipped], atol=0.01)


def test_photo_share_leaves_the_other_photos_as_taken() -> None:
    """``photo_share``: about that share of the photos is changed, the rest is left exactly as
    it was; share 1 changes every photo the way the default always did (the same draws)."""
    import tensorflow as tf

    photos = np.random.default_rng(3).uniform(0.2, 0.8, (200, 8, 8, 3)).astype(np.float32)
    seed = tf.constant([5, 6], tf.int64)
    every = augment.photometric_batch(tf.constant(photos), seed).numpy()
    same = augment.photometric_batch(tf.constant(photos), seed, share=1.0).numpy()
    assert np.array_equal(every, same)
    half = augment.photometric_batch(tf.constant(photos), seed, share=0.5).numpy()
    untouched = np.all(half == photos, axis=(1, 2, 3))
    assert 0.35 < untouched.mean() < 0.65  # about half the photos as the camera took them
    assert np.array_equal(half[~untouched], every[~untouched])  # the others changed as usual
    none = augment.photometric_batch(tf.constant(photos), seed, share=0.0).numpy()
    assert np.array_equal(none, photos)
    with pytest.raises(ValueError, match="photo_share"):
        train.TrainConfig(photo_share=1.5).check()


def test_colour_cast_changes_white_balance_not_brightness() -> None:
    """``colour_cast``: per photo, red, green and blue scaled by gains within [1/(1+c), 1+c]
    (before their luma-weighted mean is divided out): the photo's brightness stays; 0 changes
    nothing and draws nothing (the photometric change of the recipes before it, unchanged)."""
    import tensorflow as tf

    grey = np.full((64, 4, 4, 3), 0.5, np.float32)
    seed = tf.constant([5, 6], tf.int64)
    out = augment.colour_cast_batch(tf.constant(grey), seed, 0.25).numpy()[:, 0, 0]
    luma = np.asarray(augment.LUMA, np.float32)
    np.testing.assert_allclose(out @ luma, 0.5, atol=1e-5)  # brightness kept
    red_blue = np.log(out[:, 0] / out[:, 2])
    assert red_blue.min() < -0.2 and red_blue.max() > 0.2  # warmer and cooler photos
    assert np.abs(red_blue).max() <= 2 * np.log(1.25) + 1e-5
    photos = np.random.default_rng(3).uniform(0.2, 0.8, (8, 8, 8, 3)).astype(np.float32)
    plain = augment.photometric_batch(tf.constant(photos), seed).numpy()
    assert np.array_equal(augment.photometric_batch(tf.constant(photos), seed, cast=0.0), plain)
    assert not np.allclose(augment.photometric_batch(tf.constant(photos), seed, cast=0.25), plain)
    with pytest.raises(ValueError, match="colour_cast"):
        train.TrainConfig(colour_cast=-0.1).check()


def test_photo_zoom_mode_zooms_then_changes_exposure() -> None:
    """``photo_zoom`` is ``photo`` with ``full``'s zoom: the same flips and exposure draws, some
    images zoomed (exact ids); "full" stays flip, zoom and jitter from one stream."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    photos = rng.uniform(0.2, 0.8, (16, 32, 32, 3)).astype(np.float32)
    ids = rng.integers(0, 5, (16, 32, 32)).astype(np.uint8)
    ds = tf.data.Dataset.from_tensors((photos, ids))
    zp, zi = (t.numpy() for t in next(iter(augment.augment(ds, "photo_zoom", seed=1))))
    pp, pi = (t.numpy() for t in next(iter(augment.augment(ds, "photo", seed=1))))
    assert set(np.unique(zi)) <= set(range(5))  # nearest: no blended ids
    s = tf.constant([augment.ZOOM_SEED_STRIDE + 1, 1], tf.int64)  # the zoom stream's 1st batch
    zoomed = tf.random.stateless_uniform([len(ids), 4], seed=s).numpy()[:, 0] < 0.5
    assert 0 < zoomed.sum() < len(ids)  # about half the images zoomed
    assert np.all(np.abs(zp[zoomed] - pp[zoomed]).max(axis=(1, 2, 3)) > 0.01)
    assert np.any(zi[zoomed] != pi[zoomed])
    assert np.array_equal(zi[~zoomed], pi[~zoomed])  # the others: exactly the "photo" change
    assert np.allclose(zp[~zoomed], pp[~zoomed])
    fp, fi = next(iter(augment.augment(ds, "full", seed=1)))
    flip_seed = [augment.FLIP_SEED_STRIDE, 1]
    flipped = augment.flip_batch(tf.constant(photos), tf.constant(ids), flip_seed)
    ep, ei = augment.zoom_crop_batch(*flipped, s)
    assert np.array_equal(fi.numpy(), ei.numpy())
    assert np.allclose(fp.numpy(), augment.colour_jitter_batch(ep, s + 1).numpy())


def test_paste_copies_rare_pixels_from_the_next_image() -> None:
    """``paste_classes``: each image gets the named classes' pixels (photo and id together)
    from the next image of its batch, the last from the first; everything else is untouched,
    and a bad class name is a clear error before anything is built."""
    bus, car, rider = (labels.class_id(n) for n in ("bus", "car", "rider"))
    ids = np.zeros((3, 8, 8), np.uint8)
    ids[1, 2:4, 2:6] = bus  # image 1 has a bus: pasted into image 0
    ids[2, 5:7, 1:3] = car  # not a pasted class: image 1 keeps its own pixels there
    ids[0, 0, 0] = rider  # image 0's rider goes to image 2 (the last takes from the first)
    ids[0, 7, :] = IGNORE_ID
    photos = np.stack([np.full((8, 8, 3), v, np.float32) for v in (0.1, 0.5, 0.9)])
    p2, i2 = (t.numpy() for t in augment.paste_batch(photos, tf.constant(ids), [bus, rider]))
    pasted = np.zeros_like(ids, bool)
    pasted[0, 2:4, 2:6] = pasted[2, 0, 0] = True
    assert np.array_equal(i2[pasted], [bus] * 8 + [rider])
    assert np.allclose(p2[0, 2:4, 2:6], 0.5) and np.allclose(p2[2, 0, 0], 0.1)
    assert np.array_equal(i2[~pasted], ids[~pasted])
    assert np.array_equal(p2[~pasted], photos[~pasted])
    ds = tf.data.Dataset.from_tensors((photos, ids))
    fp, fi = next(iter(augment.augment(ds, "none", paste_ids=[bus, rider])))
    assert np.array_equal(fi.numpy(), i2) and np.allclose(fp.numpy(), p2)
    cfg = train.TrainConfig(variant="model2", paste_classes=["bus"]).check()
    assert cfg.paste_classes == ("bus",)
    with pytest.raises(checks.ParameterError, match="paste_classes.*'lorry'.*choose from road"):
        train.TrainConfig(variant="model2", paste_classes=("lorry",)).check()


def test_scale_crop_windows() -> None:
    """Random-scale crops: the window's size, exact ids, the whole photo at the low end of the
    scale range, and windows of the photo's own pixels at scale 1."""
    import tensorflow as tf

    ids = np.zeros((4, 32, 32), np.uint8)
    ids[:, :, 16:] = 2
    ids[:, :3] = IGNORE_ID
    ramp = np.arange(32, dtype=np.float32)[None, None, :, None] / 31  # value = column / 31
    photos = np.broadcast_to(ramp, (4, 32, 32, 3))
    seed = tf.constant([3, 4], tf.int64)
    args = (tf.constant(photos), tf.constant(ids), seed, 16)
    whole_p, whole_i = augment.scale_crop_batch(*args, max_scale=0.5)  # scale 16/32: whole photo
    assert whole_p.shape == (4, 16, 16, 3) and whole_i.shape == (4, 16, 16)
    assert whole_i.dtype == tf.uint8
    assert np.all(whole_i.numpy()[:, 2:, :8] == 0) and np.all(whole_i.numpy()[:, 2:, 8:] == 2)
    assert np.allclose(whole_p.numpy()[:, :, 0], 0) and np.allclose(whole_p.numpy()[:, :, -1], 1)
    native_p, native_i = augment.scale_crop_batch(*args, max_scale=1.0)
    assert set(np.unique(native_i.numpy())) <= {0, 2, IGNORE_ID}  # nearest: no blended ids
    steps = np.diff(native_p.numpy()[:, 0, :, 0], axis=1) * 31  # source pixels per window pixel
    assert np.all(steps > 31 / 30 - 1e-3) and np.all(steps < 31 / 15 + 1e-3)  # scales 0.5..1
    assert steps.min() < 1.9  # some windows are zoomed in beyond the whole photo
    zoom_p, _ = augment.scale_crop_batch(*args, max_scale=3.0)
    assert zoom_p.numpy().min() >= 0 and zoom_p.numpy().max() <= 1


def test_crop_training_config() -> None:
    cfg = train.TrainConfig(variant="model2", image_size=256, crop_size=128).check()
    assert cfg.size == (256, 256) and cfg.train_size == (128, 128)
    assert train.TrainConfig(image_size=64).train_size == (64, 64)
    for bad in (24, 40, 272):  # model 2 needs multiples of 16 up to the image size
        with pytest.raises(ValueError, match="crop_size"):
            train.TrainConfig(variant="model2", image_size=256, crop_size=bad).check()


# --------------------------------------------------------------------------- a real (tiny) run
EPOCHS = 6


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[train.TrainResult, Path, Path]:
    """Model 1 trained for a few epochs at 64x64 on a small synthetic sample."""
    base = tmp_path_factory.mktemp("train")
    root = sample(base / "data", 64, 16)
    cfg = train.TrainConfig(
        image_size=64,
        epochs=EPOCHS,
        batch_size=8,
        learning_rate=3e-3,
        augment="flip",
        class_weights="none",
        stop_patience=EPOCHS,
    )
    result = train.train(root, base / "run", cfg, snapshot_dir=base / "snaps", verbose=0)
    return result, base / "run", base / "snaps"


def test_learning_happens(trained) -> None:  # noqa: ANN001
    result, _, _ = trained
    counts = np.array(result.config["class_pixel_counts"])
    majority = counts.max() / counts.sum()  # always predicting the commonest class
    assert result.val_scores["pixel_accuracy"] > majority + 0.2
    val_iou = [r["val_mean_iou"] for r in result.history]
    assert max(val_iou[-2:]) > val_iou[0] + 0.05
    losses = [r["loss"] for r in result.history]
    assert losses[-1] < 0.7 * losses[0]


def test_model_folder_and_snapshots(trained) -> None:  # noqa: ANN001
    result, run, snaps = trained
    folder = run / "models" / "model1"
    assert result.model_dir == folder
    for name in ("model.keras", "config.json", "mapping.json", "history.csv", "history.json"):
        assert (folder / name).is_file(), name
    assert (folder / "backup").is_dir() and (folder / "tensorboard").is_dir()
    epochs = sorted(p.name for p in (folder / "epochs").iterdir())
    assert epochs == [f"epoch_{e:03d}.weights.h5" for e in range(1, EPOCHS + 1)]
    assert sorted(p.name for p in snaps.iterdir()) == sorted(
        f"output_{e}_epo.png" for e in range(1, EPOCHS + 1)
    )
    assert (snaps / "output_1_epo.png").stat().st_size > 10_000
    rows = json.loads((folder / "history.json").read_text())
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    assert (folder / "history.csv").read_text().count("\n") == EPOCHS + 1
    clock = [r["train_minutes"] for r in rows]  # the training minutes, summed over epochs
    assert 0 < clock[0] and np.all(np.diff(clock) > 0)
    best = max(r["val_mean_iou"] for r in rows)
    assert result.val_scores["mean_iou"] == pytest.approx(best, abs=0.02)  # model.keras = best


@pytest.fixture(scope="module")
def model2_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample both model 2 learning runs train on (drawn once; training only reads it)."""
    return sample(tmp_path_factory.mktemp("model2") / "data", 48, 12)


@pytest.mark.parametrize(("crop_size", "epochs"), [(0, 5), (32, 8)])  # crops: smaller steps
def test_model2_learns_on_the_synthetic_sample(
    tmp_path: Path, model2_sample: Path, crop_size: int, epochs: int
) -> None:
    """Model 2 beats the trivial baseline (always the commonest class) at native resolution
    after a few epochs, trained on whole photos or on random-scale crops of them."""
    root = model2_sample
    cfg = train.TrainConfig(
        variant="model2",
        image_size=64,
        crop_size=crop_size,
        max_zoom=1.0,
        epochs=epochs,
        batch_size=8,
        learning_rate=1e-2,  # 30 steps: the separable blocks still predict one class at 3e-3
        class_weights="none",
        stop_patience=epochs,
    )  # fmt: skip  (max_zoom 1: crops at scales 0.5-1, none beyond the photo's own pixels)
    result = train.train(root, tmp_path / "run", cfg, snapshot_dir=tmp_path / "s", verbose=0)
    counts = np.array(result.config["class_pixel_counts"])
    majority = counts.max() / counts.sum()
    # Always predicting the commonest class: its IoU is its share, every other class scores 0.
    trivial_miou = majority / (counts > 0).sum()
    assert result.val_scores["resolution"].startswith("native")
    assert result.val_scores["pixel_accuracy"] > majority + 0.15
    assert result.val_scores["mean_iou"] > 3 * trivial_miou
    limits = result.config["tone_limits"]  # the guard's, from the training photos, saved
    assert model.tone_guard_of(result.model).limits() == limits
    assert limits["dark"] <= limits["dark_target"] < limits["bright_target"] <= limits["bright"]
    assert 0.0 < limits["flat"] <= limits["flat_target"]
    for c in ("red", "blue"):  # model 2 guards the colour balance too
        ends = [limits[f"{c}_{k}"] for k in ("low", "low_target", "high_target", "high")]
        assert ends == sorted(ends), c


class Interrupt(keras.callbacks.Callback):
    """Stops the process-like run at the start of an epoch (after the previous one finished)."""

    def __init__(self, at_epoch: int) -> None:
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 == self.at_epoch:
            raise KeyboardInterrupt(f"interrupted before epoch {self.at_epoch}")


class Recorder(keras.callbacks.Callback):
    """Remembers which epochs (from 1) were run."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs.append(epoch + 1)


def test_resume_after_interruption(tmp_path: Path) -> None:
    """Interrupted in its third epoch, a run resumes there; with progressive resizing (half of
    the epochs on 16 px photos) that is the first epoch of its full-size phase."""
    root = write_scenes(tmp_path / "data", 16, 4)
    # Model 2's blocks at two small levels: this test checks epochs and files, not learning.
    cfg = train.TrainConfig(
        variant="model2", image_size=32, epochs=4, batch_size=8, architecture={"widths": (8, 16)},
        early_share=0.5, early_scale=0.5,
    )  # fmt: skip
    prep = train.prepare(data.find_dataset(root), ColourMapping.palette(), cfg)
    assert next(iter(prep.early_ds))[0].shape == (8, 16, 16, 3)  # the small photos and ids
    assert next(iter(prep.early_ds))[1].shape == (8, 16, 16)
    assert next(iter(prep.train_ds))[0].shape == (8, 32, 32, 3)
    kw = dict(snapshot_dir=tmp_path / "snaps", verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train.train(root, tmp_path / "run", cfg, extra_callbacks=[Interrupt(3)], **kw)
    folder = tmp_path / "run" / "models" / "model2"
    assert json.loads((folder / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    seen = Recorder()
    result = train.train(root, tmp_path / "run", cfg, extra_callbacks=[seen], **kw)
    assert seen.epochs == [3, 4]
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
    clock = [r["train_minutes"] for r in result.history]
    assert np.all(np.diff(clock) > 0)  # the resumed run counts on from the minutes spent before
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == [
        f"output_{e}_model_2.png" for e in range(1, 5)
    ]
    assert result.config["input_size"] == [32, 32]  # saved and scored at the full size
    logits = result.model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0)
    assert logits.shape[1:3] == (32, 32)
    # Finished: the backup is cleared, so the same call again would start a fresh run.
    assert not (folder / "backup" / "training_metadata.json").exists()
    assert history.backup_epoch(folder / "backup") == 0


def test_budgeted_run_stretches_its_plan_and_resumes_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``train_minutes`` run timed at 4 epochs whose epochs turn out far faster goes on to the
    ceiling (6, at ``budget_stretch`` 1.5), logging its plan every epoch; interrupted, it resumes
    with the plan it had reached (not the 4 it started with) and ends after it."""
    root = write_scenes(tmp_path / "data", 16, 4)  # 2 steps of 8 an epoch
    # the timing says 6.35 s a step: 60 s / (1.05 x 2 x 6.35 s) = 4 epochs fit; the real ones
    # take a second or so (the first, with tracing, longer): 6 fit easily
    monkeypatch.setattr(budget, "step_seconds", lambda *args, **kwargs: 6.35)
    cfg = train.TrainConfig(
        variant="model2", image_size=32, batch_size=8, train_minutes=1.0,
        architecture={"widths": (8, 16)},
    )  # fmt: skip
    kw = dict(snapshot_dir=tmp_path / "s", verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train.train(root, tmp_path / "run", cfg, extra_callbacks=[Interrupt(5)], **kw)
    folder = tmp_path / "run" / "models" / "model2"
    assert json.loads((folder / "config.json").read_text())["training"]["epochs"] == 4
    before = history.load_history(folder)
    assert [r["epochs_planned"] for r in before] == [4, 6, 6, 6]  # re-planned after epoch 2
    seen = Recorder()
    result = train.train(root, tmp_path / "run", cfg, extra_callbacks=[seen], **kw)
    assert seen.epochs == [5, 6]
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.history[-1]["epochs_planned"] == 6


def test_early_epochs_leave_a_full_size_one() -> None:
    assert progressive.early_epochs(0.4, 20) == 8
    assert progressive.early_epochs(0.9, 2) == 1  # the last epoch is always at the full size
    assert progressive.early_epochs(0.0, 20) == 0


def test_fit_phases_trains_each_size_in_turn_and_skips_finished_phases() -> None:
    """Two sizes in one run: a fit can be traced for one size only (``UpSampling2D`` fails on a
    size it cannot know), so each phase is its own fit, going on from the last one's epoch."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
    net = keras.Model(inputs, keras.layers.Conv2D(3, 1)(x))
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def batches(side: int):  # noqa: ANN202
        x, y = np.zeros((2, side, side, 3), np.float32), np.zeros((2, side, side), np.uint8)
        return tf.data.Dataset.from_tensors((x, y))

    phases = [(batches(8), 2), (batches(16), 4)]
    seen = Recorder()
    progressive.fit_phases(net, phases, callbacks=[seen], verbose=0, shuffle=False)
    assert seen.epochs == [1, 2, 3, 4]
    seen = Recorder()
    progressive.fit_phases(net, phases, done=2, callbacks=[seen], verbose=0, shuffle=False)
    assert seen.epochs == [3, 4]  # resumed after the small phase: the full-size one only

    class StopAtOne(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.model.stop_training = True

    seen = Recorder()
    progressive.fit_phases(net, phases, callbacks=[seen, StopAtOne()], verbose=0, shuffle=False)
    assert seen.epochs == [1]  # stopped early: the run ends there, no second phase


MIRRORED = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    sys.path.insert(0, sys.argv[3])
    from test_train import write_scenes
    from utils import train
    root = write_scenes(__import__("pathlib").Path(sys.argv[1]) / "data", 16, 4)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    # two small levels: this checks the strategy's run, not learning
    cfg = train.TrainConfig(image_size=32, epochs=2, batch_size=8, architecture={"widths": (8, 16)})
    r = train.train(root, sys.argv[1] + "/run", cfg, snapshot_dir=sys.argv[2], strategy=strategy,
                    verbose=0)
    print(json.dumps({"replicas": r.config["replicas"], "strategy": r.config["strategy"],
                      "losses": [h["loss"] for h in r.history], "miou": r.val_scores["mean_iou"]}))
    """
)


def test_mirrored_strategy_on_two_cpu_devices(tmp_path: Path) -> None:
    # Logical devices must be set before TensorFlow starts: a fresh interpreter.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    tests = str(Path(__file__).parent)
    cmd = [sys.executable, "-c", MIRRORED, str(tmp_path), str(tmp_path / "snaps"), tests]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["strategy"] == "MirroredStrategy"
    assert len(out["losses"]) == 2 and all(np.isfinite(out["losses"]))
    assert 0 <= out["miou"] <= 1
