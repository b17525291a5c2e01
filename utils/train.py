"""Training the UNet: loss, class weights, augmentation, callbacks, strategy, and a CLI.

    python -m utils.train --data ../shared/data/cityscapes_pairs --out runs/real --epochs 12
    python -m utils.train --data DIR --out runs/plain --plain      # the plain reference recipe

``train(...)`` writes the model folder ``RUN_DIR/models/<variant>/`` described in
``utils.model`` and per-epoch snapshots (photo | truth | prediction) of fixed validation images
to ``semantic_output/output_{epoch}_epo.png`` (model 1) or
``Semantic_out_2/output_{epoch}_model_2.png`` (model 2). Started again on the same folder after
an interruption, it resumes at the epoch after the last finished one
(``keras.callbacks.BackupAndRestore``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops

from utils import data, metrics, model, runio
from utils.colours import ColourMapping

log = logging.getLogger(__name__)

SNAPSHOT_PATTERNS = {"model1": "output_{epoch}_epo.png", "model2": "output_{epoch}_model_2.png"}
SNAPSHOT_DIRS = {"model1": "semantic_output", "model2": "Semantic_out_2"}  # under the repo root
REPO_ROOT = Path(__file__).resolve().parent.parent
MONITOR = "val_mean_iou"
CLASS_WEIGHT_METHODS = ("none", "median", "sqrt")
AUGMENT_MODES = ("none", "flip", "full")
SCHEDULES = ("constant", "plateau", "cosine")
MAX_CLASS_WEIGHT = 10.0  # clip: a class seen in a handful of pixels must not dominate the loss
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # CPUs with native bfloat16 matrix instructions


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in ``config.json``)."""

    variant: str = "model1"
    architecture: dict = dataclasses.field(default_factory=dict)  # overrides of the variant's spec
    image_size: int = 128
    epochs: int = 12
    batch_size: int = 16
    learning_rate: float = 2e-3  # peak; measured on the real data, see the README of Semantic_out_2
    schedule: str = "cosine"  # constant | plateau (ReduceLROnPlateau) | cosine (per step)
    warmup_epochs: float = 0.5
    augment: str = "flip"  # none | flip | full (flip + random zoom/crop + brightness/contrast)
    max_zoom: float = 1.5
    class_weights: str = "sqrt"  # none | median (median frequency) | sqrt (inverse sqrt frequency)
    dice_weight: float = 0.0  # weight of a soft Dice term added to the cross-entropy
    max_train_images: int = 0  # 0 = all
    max_val_images: int = 0
    seed: int = 0
    mixed_precision: str = "auto"  # auto | off | a Keras policy name
    lr_patience: int = 2
    stop_patience: int = 5
    snapshot_samples: int = 4

    @classmethod
    def plain(cls, **overrides) -> TrainConfig:
        """The plain reference recipe: Adam 1e-3 constant, no augmentation, no class weights."""
        base = dict(
            variant="model1", learning_rate=1e-3, schedule="constant", augment="none",
            class_weights="none", dice_weight=0.0,
        )  # fmt: skip
        return cls(**{**base, **overrides})

    def check(self) -> TrainConfig:
        """Raise ``ValueError`` on an unknown choice; returns self."""
        choices = {
            "variant": model.VARIANTS,
            "schedule": SCHEDULES,
            "augment": AUGMENT_MODES,
            "class_weights": CLASS_WEIGHT_METHODS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}; choose from {allowed}")
        if self.epochs < 1 or self.batch_size < 1 or self.image_size < 16:
            raise ValueError("epochs and batch_size must be >= 1, image_size >= 16")
        return self


# --------------------------------------------------------------------------- loss
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
    import tensorflow as tf

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


# --------------------------------------------------------------------------- augmentation
def zoom_crop_batch(photos, ids, seed, max_zoom: float = 1.5, p: float = 0.5):  # noqa: ANN001, ANN201
    """Per image, with probability ``p``: zoom in by U(1, max_zoom) at a random place.

    One ``tf.image.crop_and_resize`` call per batch (bilinear for photos, nearest for ids), so
    the labels stay exact class ids. Training-specific, hence here and not in ``utils.data``.
    """
    import tensorflow as tf

    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 4], seed=seed)
    zoom = tf.where(u[:, 0] < p, 1.0 + (max_zoom - 1.0) * u[:, 1], 1.0)
    side = 1.0 / zoom
    y1 = u[:, 2] * (1.0 - side)
    x1 = u[:, 3] * (1.0 - side)
    boxes = tf.stack([y1, x1, y1 + side, x1 + side], axis=1)
    index = tf.range(n)
    size = tf.shape(photos)[1:3]
    photos = tf.image.crop_and_resize(photos, boxes, index, size, method="bilinear")
    ids = tf.image.crop_and_resize(
        tf.cast(ids[..., None], tf.float32), boxes, index, size, method="nearest"
    )
    return photos, tf.cast(ids[..., 0], tf.uint8)


def colour_jitter_batch(photos, seed, brightness: float = 0.1, contrast: float = 0.2):  # noqa: ANN001, ANN201
    """Per image random brightness shift and contrast scale, clipped to [0, 1]."""
    import tensorflow as tf

    n = tf.shape(photos)[0]
    u = tf.random.stateless_uniform([n, 2], seed=seed, minval=-1.0, maxval=1.0)
    shift = (brightness * u[:, 0])[:, None, None, None]
    scale = (1.0 + contrast * u[:, 1])[:, None, None, None]
    mean = tf.reduce_mean(photos, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value((photos - mean) * scale + mean + shift, 0.0, 1.0)


def add_augmentation(dataset, seed: int, max_zoom: float = 1.5):  # noqa: ANN001, ANN201
    """``dataset.map`` of zoom/crop and colour jitter with a fresh stateless seed per batch."""
    import tensorflow as tf

    def augment(batch, i):  # noqa: ANN001, ANN202
        photos, ids = batch
        s = tf.stack([i, tf.constant(seed, tf.int64)])
        photos, ids = zoom_crop_batch(photos, ids, s, max_zoom)
        return colour_jitter_batch(photos, s + 1), ids

    counter = tf.data.Dataset.counter(seed * 7_919 + 1)
    ds = tf.data.Dataset.zip((dataset, counter))
    return ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- devices
def choose_strategy():  # noqa: ANN201 - tf.distribute.Strategy
    """TPU on Colab if present, several GPUs: mirrored, otherwise the default strategy."""
    import tensorflow as tf

    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError) as e:
            log.warning("TPU announced but not usable (%s); using the default strategy", e)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bfloat16 matrix instructions (Linux /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in BF16_CPU_FLAGS)


def precision_policy(mode: str = "auto", strategy=None) -> str:  # noqa: ANN001
    """The Keras dtype policy for ``mode``: auto picks mixed precision where hardware has it.

    auto: mixed_float16 on GPUs of compute capability >= 7, mixed_bfloat16 on TPUs and on CPUs
    with native bfloat16 (AVX512-BF16/AMX: about twice the float32 speed, see the benchmark),
    else float32. ``off`` = float32; any other value is used as the policy name.
    """
    import tensorflow as tf

    if mode == "off":
        return "float32"
    if mode != "auto":
        return mode
    if strategy is not None and isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return "mixed_float16" if details.get("compute_capability", (0, 0))[0] >= 7 else "float32"
    return "mixed_bfloat16" if cpu_has_bf16() else "float32"


# --------------------------------------------------------------------------- callbacks
class EpochSnapshot(keras.callbacks.Callback):
    """After every epoch: photo | truth | prediction of fixed validation images, to a PNG."""

    def __init__(
        self,
        photos: np.ndarray,
        truths: np.ndarray,
        folder: str | os.PathLike,
        pattern: str,
        mapping: ColourMapping,
        label: str,
    ) -> None:
        super().__init__()
        self.photos, self.truths = photos, truths
        self.folder, self.pattern = Path(folder), pattern
        self.mapping, self.label = mapping, label

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Draw and save ``pattern.format(epoch=epoch + 1)``."""
        from utils.viz import training as viz_training

        logs = logs or {}
        preds = np.argmax(ops.convert_to_numpy(self.model(self.photos, training=False)), -1)
        title = f"{self.label}, epoch {epoch + 1}: " + ", ".join(
            f"{k} {logs[k]:.3f}" for k in ("loss", "val_pixel_accuracy", MONITOR) if k in logs
        )
        fig = viz_training.prediction_rows(
            self.photos, self.truths, preds, self.mapping, title, pyplot=False
        )
        viz_training.save_png(fig, self.folder / self.pattern.format(epoch=epoch + 1))


class HistoryWriter(keras.callbacks.Callback):
    """history.csv and history.json, rewritten atomically after every epoch (with the LR)."""

    def __init__(self, folder: str | os.PathLike, previous: Sequence[dict] = ()) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.rows = list(previous)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Append the epoch's logs and rewrite both files."""
        row = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["learning_rate"] = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rows = [r for r in self.rows if r["epoch"] < epoch + 1] + [row]
        write_history(self.rows, self.folder)


def write_history(rows: Sequence[dict], folder: str | os.PathLike) -> None:
    """Rows of per-epoch numbers -> ``history.json`` and ``history.csv`` (atomic writes)."""
    folder = Path(folder)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = [",".join(keys)] + [",".join(f"{r.get(k, '')}" for k in keys) for r in rows]
    runio.atomic_write_bytes(folder / "history.csv", ("\n".join(lines) + "\n").encode())
    runio.save_json(list(rows), folder / "history.json")


def load_history(model_dir: str | os.PathLike) -> list[dict]:
    """The per-epoch rows of a model folder's ``history.json``."""
    return runio.load_json(Path(model.model_dir_of(model_dir)) / "history.json")


def history_columns(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Rows -> {column: array} (missing values NaN), handy for plotting."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=float) for k in keys}


# --------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What ``train`` hands back: the best model, its folder, history rows and val scores."""

    model: keras.Model
    model_dir: Path
    history: list[dict]
    val_scores: dict
    config: dict
    seconds: float


def default_snapshot_dir(variant: str) -> Path:
    """``<repo>/semantic_output`` for model 1, ``<repo>/Semantic_out_2`` for model 2."""
    return REPO_ROOT / SNAPSHOT_DIRS[variant]


def _backup_epoch(backup_dir: Path) -> int:
    """Epochs finished by an interrupted run (0 if there is nothing to resume)."""
    meta = backup_dir / "training_metadata.json"
    if not (backup_dir / "latest.weights.h5").is_file() or not meta.is_file():
        return 0
    return int(json.loads(meta.read_text()).get("epoch", 0))


def _clear_previous(model_dir: Path, snapshot_dir: Path, pattern: str) -> None:
    """A fresh run: remove the epoch weights, history and snapshots of an earlier run."""
    for p in [
        *(model_dir / model.EPOCHS_DIR).glob("epoch_*.weights.h5"),
        *snapshot_dir.glob(pattern.replace("{epoch}", "*")),
        model_dir / "history.csv",
        model_dir / "history.json",
    ]:
        p.unlink(missing_ok=True)


def make_datasets(
    splits: data.Splits, mapping: ColourMapping, cfg: TrainConfig
) -> tuple[object, object, list[Path], list[Path]]:
    """(train dataset, val dataset, train files, val files) for a config."""
    train_files = splits.train[: cfg.max_train_images or None]
    val_files = splits.val[: cfg.max_val_images or None]
    size = (cfg.image_size, cfg.image_size)
    common = dict(label_mapper=mapping.tf_apply, batch_size=cfg.batch_size, seed=cfg.seed)
    train_ds = data.make_dataset(
        train_files, size, shuffle=True, augment=cfg.augment != "none", **common
    )
    val_ds = data.make_dataset(val_files, size, shuffle=False, augment=False, **common)
    return (
        with_static_shape(train_ds, size),
        with_static_shape(val_ds, size),
        train_files,
        val_files,
    )


def with_static_shape(dataset, size: tuple[int, int]):  # noqa: ANN001, ANN201
    """Declare batch shapes (``decode_image`` leaves H, W unknown; Keras layers want them)."""
    h, w = size
    return dataset.map(
        lambda photos, ids: (
            tf_ensure(photos, (None, h, w, 3)),
            tf_ensure(ids, (None, h, w)),
        )
    )


def tf_ensure(tensor, shape: tuple):  # noqa: ANN001, ANN201
    """``tf.ensure_shape`` (imported lazily)."""
    import tensorflow as tf

    return tf.ensure_shape(tensor, shape)


def preview_batch(
    splits: data.Splits, mapping: ColourMapping, cfg: TrainConfig, n: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training images as the training pipeline delivers them (augmented)."""
    small = dataclasses.replace(cfg, max_train_images=max(n, cfg.batch_size), max_val_images=1)
    train_ds, _, _, _ = make_datasets(splits, mapping, small)
    if cfg.augment == "full":
        train_ds = add_augmentation(train_ds, cfg.seed, cfg.max_zoom)
    photos, ids = next(iter(train_ds))
    return photos.numpy()[:n], ids.numpy()[:n]


def snapshot_samples(val_files: Sequence[Path], mapping: ColourMapping, cfg: TrainConfig):  # noqa: ANN201
    """Fixed validation images (evenly spaced over the split) as NumPy (photos, ids)."""
    n = min(cfg.snapshot_samples, len(val_files))
    picks = [val_files[i] for i in np.linspace(0, len(val_files) - 1, n).round().astype(int)]
    ds = data.make_dataset(
        picks, (cfg.image_size,) * 2, label_mapper=mapping.tf_apply, batch_size=n, cache=False
    )
    photos, ids = next(iter(ds))
    return photos.numpy(), ids.numpy()


def compile_model(
    net: keras.Model, cfg: TrainConfig, num_classes: int, weights: np.ndarray | None, steps: int
) -> None:
    """Adam (constant / plateau / warm-up + cosine), the segmentation loss, the CM metric."""
    lr: float | keras.optimizers.schedules.LearningRateSchedule = cfg.learning_rate
    if cfg.schedule == "cosine":
        warmup = int(round(cfg.warmup_epochs * steps))
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=cfg.learning_rate * 0.1 if warmup else cfg.learning_rate,
            decay_steps=max(steps * cfg.epochs - warmup, 1),
            alpha=0.01,
            warmup_target=cfg.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    net.compile(
        optimizer=keras.optimizers.Adam(lr),
        loss=SegmentationLoss(num_classes, weights, cfg.dice_weight),
        metrics=[metrics.ConfusionMatrixMetric(num_classes)],
    )


def train(
    data_root: str | os.PathLike | data.Splits,
    run_dir: str | os.PathLike,
    cfg: TrainConfig | None = None,
    *,
    mapping: ColourMapping | None = None,
    mapping_source: str = "palette",
    snapshot_dir: str | os.PathLike | None = None,
    strategy=None,  # noqa: ANN001
    verbose: int | str = "auto",
    resume: bool = True,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainResult:
    """Train one variant into ``run_dir/models/<variant>/``; resume an interrupted run."""
    cfg = (cfg or TrainConfig()).check()
    splits = data_root if isinstance(data_root, data.Splits) else data.find_dataset(data_root)
    mapping = mapping or ColourMapping.palette()
    num_classes = mapping.num_classes
    model_dir = Path(run_dir) / "models" / cfg.variant
    snapshot_dir = Path(snapshot_dir) if snapshot_dir else default_snapshot_dir(cfg.variant)
    pattern = SNAPSHOT_PATTERNS[cfg.variant]
    backup_dir = model_dir / "backup"
    done = _backup_epoch(backup_dir) if resume else 0
    if not done:
        if backup_dir.exists():
            for p in backup_dir.iterdir():
                p.unlink()
        _clear_previous(model_dir, snapshot_dir, pattern)
    for sub in (model.EPOCHS_DIR, "backup", "tensorboard"):
        (model_dir / sub).mkdir(parents=True, exist_ok=True)
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    previous = [r for r in _load_rows(model_dir) if r["epoch"] <= done]
    if done:
        log.info("%s: resuming after epoch %d of %d", model_dir, done, cfg.epochs)

    keras.utils.set_random_seed(cfg.seed)
    strategy = strategy or choose_strategy()
    policy = precision_policy(cfg.mixed_precision, strategy)
    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        train_ds, val_ds, train_files, val_files = make_datasets(splits, mapping, cfg)
        counts = class_pixel_counts(train_ds, num_classes)  # one pass: also fills the cache
        weights = class_weight_table(counts, cfg.class_weights)
        if cfg.augment == "full":
            train_ds = add_augmentation(train_ds, cfg.seed, cfg.max_zoom)
            train_ds = with_static_shape(train_ds, (cfg.image_size, cfg.image_size))
        steps = math.ceil(len(train_files) / cfg.batch_size)
        photos, truths = snapshot_samples(val_files, mapping, cfg)

        config = {
            "variant": cfg.variant,
            "input_size": [cfg.image_size, cfg.image_size],
            "num_classes": num_classes,
            "class_names": list(mapping.class_names),
            "mapping_file": model.MAPPING_FILE,
            "mapping_source": mapping_source,
            "architecture": dataclasses.asdict(model.spec_for(cfg.variant, **cfg.architecture)),
            "training": dataclasses.asdict(cfg),
            "precision_policy": policy,
            "strategy": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
            "data_root": str(splits.root),
            "layout": splits.layout,
            "n_train": len(train_files),
            "n_val": len(val_files),
            "class_pixel_counts": counts.tolist(),
            "class_weights": None if weights is None else np.round(weights, 4).tolist(),
            "snapshot_dir": str(snapshot_dir.resolve()),
            "snapshot_pattern": pattern,
        }
        mapping.save(model_dir / model.MAPPING_FILE)
        runio.save_json(config, model_dir / model.CONFIG_FILE)

        with strategy.scope():
            net = model.build_unet(
                num_classes, (cfg.image_size, cfg.image_size), cfg.variant, **cfg.architecture
            )
            compile_model(net, cfg, num_classes, weights, steps)
        snapshot = EpochSnapshot(
            photos, truths, snapshot_dir, pattern, mapping, _label(cfg.variant)
        )
        callbacks = training_callbacks(cfg, model_dir, previous, [snapshot, *extra_callbacks])
        start = time.perf_counter()
        net.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            callbacks=callbacks,
            verbose=verbose,
        )
        seconds = time.perf_counter() - start
        backup_dir.mkdir(exist_ok=True)  # BackupAndRestore removes it after a finished run
        best, _, _ = model.load_trained(model_dir)
        cm = confusion_on(best, val_ds, num_classes)
        scores = metrics.summary(cm, mapping.class_names)
        scores["confusion_matrix"] = cm.tolist()
        runio.save_json(scores, model_dir / "val_metrics.json")
    finally:  # also after an interruption: later models in this process are float32 again
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(best, model_dir, _load_rows(model_dir), scores, config, seconds)


def training_callbacks(
    cfg: TrainConfig,
    model_dir: Path,
    previous: Sequence[dict],
    extra: Sequence[keras.callbacks.Callback] = (),
) -> list[keras.callbacks.Callback]:
    """Checkpoints (best + every epoch), LR and stopping rules, logs, ``extra``, then the backup.

    On a resumed run the best-model checkpoint starts from the best mIoU of the earlier epochs.
    """
    best_so_far = max((r.get(MONITOR, -1.0) for r in previous), default=None)
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            model_dir / model.MODEL_FILE,
            monitor=MONITOR,
            mode="max",
            save_best_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.ModelCheckpoint(
            str(model_dir / model.EPOCHS_DIR / model.EPOCH_WEIGHTS), save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(MONITOR, mode="max", patience=cfg.stop_patience),
        *tensorboard_callback(model_dir / "tensorboard"),
        HistoryWriter(model_dir, previous),
        *extra,
        keras.callbacks.BackupAndRestore(model_dir / "backup"),  # last: after the epoch is saved
    ]
    if cfg.schedule == "plateau":
        callbacks.insert(
            1,
            keras.callbacks.ReduceLROnPlateau(
                MONITOR, mode="max", factor=0.5, patience=cfg.lr_patience, min_lr=1e-5
            ),
        )
    return callbacks


def tensorboard_callback(folder: Path) -> list[keras.callbacks.Callback]:
    """The TensorBoard callback, or none (with a note) when the tensorboard package is missing."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        log.info("tensorboard not installed: no TensorBoard logs (pip install tensorboard)")
        return []
    return [keras.callbacks.TensorBoard(folder, write_graph=False, profile_batch=0)]


def _label(variant: str) -> str:
    """'model1' -> 'Model 1'."""
    return variant.replace("model", "Model ")


def _load_rows(model_dir: Path) -> list[dict]:
    """History rows of a model folder, or [] when there is none yet."""
    path = model_dir / "history.json"
    return runio.load_json(path) if path.is_file() else []


def predict_ids(net: keras.Model, photos, batch_size: int = 16) -> np.ndarray:  # noqa: ANN001
    """Class ids (N, H, W) uint8 of a batch of photos (N, H, W, 3) in [0, 1]."""
    out = []
    for i in range(0, len(photos), batch_size):
        logits = net(photos[i : i + batch_size], training=False)
        out.append(np.argmax(ops.convert_to_numpy(logits), axis=-1).astype(np.uint8))
    return np.concatenate(out) if out else np.zeros((0,), np.uint8)


def confusion_on(net: keras.Model, dataset, num_classes: int) -> np.ndarray:  # noqa: ANN001
    """The confusion matrix of a model over a dataset of (photo, ids) batches."""
    metric = metrics.ConfusionMatrixMetric(num_classes)
    for photos, ids in dataset:
        metric.update_state(ids, net(photos, training=False))
    return metric.matrix()


# --------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    d = TrainConfig()
    ap = argparse.ArgumentParser(prog="python -m utils.train", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset folder (any Kaggle layout)")
    ap.add_argument("--out", required=True, help="run folder; the model goes to OUT/models/VARIANT")
    ap.add_argument("--variant", default=None, choices=model.VARIANTS)
    ap.add_argument(
        "--plain",
        action="store_true",
        help="plain reference recipe (model 1, Adam "
        "1e-3 constant, no augmentation, no class weights)",
    )
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--image-size", type=int, default=d.image_size)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate")
    ap.add_argument("--schedule", choices=SCHEDULES, default=None)
    ap.add_argument("--augment", choices=AUGMENT_MODES, default=None)
    ap.add_argument("--class-weights", choices=CLASS_WEIGHT_METHODS, default=None)
    ap.add_argument("--dice", type=float, default=None, help="weight of the soft Dice term")
    ap.add_argument("--max-train", type=int, default=0, help="use at most N training pairs")
    ap.add_argument("--max-val", type=int, default=0, help="use at most N validation pairs")
    ap.add_argument("--mapping", default="", help="colour mapping JSON (default: palette)")
    ap.add_argument("--snapshot-dir", default="", help="per-epoch figures (default by variant)")
    ap.add_argument("--precision", default="auto", help="auto | off | a Keras dtype policy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fresh", action="store_true", help="do not resume an interrupted run")
    return ap.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A TrainConfig from parsed arguments (``--plain`` first, explicit flags override)."""
    chosen = {
        "variant": args.variant,
        "learning_rate": args.lr,
        "schedule": args.schedule,
        "augment": args.augment,
        "class_weights": args.class_weights,
        "dice_weight": args.dice,
    }
    overrides = {k: v for k, v in chosen.items() if v is not None}
    overrides.update(
        epochs=args.epochs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        max_train_images=args.max_train,
        max_val_images=args.max_val,
        seed=args.seed,
        mixed_precision=args.precision,
    )
    return TrainConfig.plain(**overrides) if args.plain else TrainConfig(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Train from the command line; prints the validation scores of the best epoch."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    cfg = config_from_args(args)
    try:
        mapping = ColourMapping.load(args.mapping) if args.mapping else ColourMapping.palette()
        result = train(
            args.data,
            args.out,
            cfg,
            mapping=mapping,
            mapping_source=args.mapping or "palette",
            snapshot_dir=args.snapshot_dir or None,
            verbose="auto" if sys.stdout.isatty() else 2,
            resume=not args.fresh,
        )
    except (data.DatasetError, FileNotFoundError, ValueError) as e:
        print(f"training failed: {e}", file=sys.stderr)
        return 1
    s = result.val_scores
    print(f"{result.model_dir}: {len(result.history)} epochs in {result.seconds:.0f} s")
    print(
        f"best epoch on validation: pixel accuracy {s['pixel_accuracy']:.4f}, mean class "
        f"accuracy {s['mean_class_accuracy']:.4f}, mIoU {s['mean_iou']:.4f}"
    )
    for name, iou in s["per_class_iou"].items():
        print(f"  {name:14s} {'-' if iou is None else f'{iou:.3f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
