"""Training the UNet: the run's configuration, one preparation step, fit, and a CLI.

    python -m utils.train --data ../shared/data/cityscapes_pairs --out runs/real --epochs 12
    python -m utils.train --data DIR --out runs/plain --plain      # the plain reference recipe

``train(...)`` writes the model folder ``RUN_DIR/models/<variant>/`` described in
``utils.model`` and per-epoch snapshots (photo | truth | prediction) of fixed validation images
(``utils.history``). Started again on the same folder after an interruption, it resumes at the
epoch after the last finished one (``keras.callbacks.BackupAndRestore``). The pieces live in
their own modules: ``utils.losses`` (loss, class weights), ``utils.augment`` (joint
augmentation), ``utils.devices`` (strategy, precision) and ``utils.history`` (callbacks, resuming).
"""

from __future__ import annotations

import argparse
import dataclasses
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

from utils import (
    augment,
    budget,
    checks,
    data,
    devices,
    evaluate,
    history,
    losses,
    metrics,
    model,
    progressive,
    rims,
    runio,
    tone,
)
from utils.colours import ColourMapping
from utils.config import SCHEDULES, TrainConfig, add_recipe_arguments, from_args  # noqa: F401

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """What training needs from the data: datasets (training one augmented), files, weights."""

    train_ds: object  # tf.data.Dataset of (photos float32 [0, 1], class ids uint8) batches
    val_ds: object
    train_files: list[Path]
    val_files: list[Path]
    class_counts: np.ndarray | None  # labelled pixels per class in the training files
    class_weights: np.ndarray | None  # per-class loss weights (None: unweighted)
    batch_size: int
    early_ds: object = None  # training batches of smaller photos (progressive resizing) or None
    tone_limits: dict | None = None  # the training photos' tones (``utils.tone.tone_limits``)

    @property
    def steps_per_epoch(self) -> int:
        """Training batches per epoch."""
        return math.ceil(len(self.train_files) / self.batch_size)


def prepare(
    splits: data.Splits, mapping: ColourMapping, cfg: TrainConfig,
    count_classes: bool = True, check: bool = True,
) -> Prepared:  # fmt: skip
    """The one preparation step shared by ``train``, the preview and the benchmarks.

    Datasets at the configured size (training: shuffled, augmented per ``cfg.augment``, the rims
    of ``cfg.clean_rims`` void: ``utils.rims``), and, with ``count_classes``, the class pixel
    counts (one pass that also fills the cache) and the class weights. ``check=False`` skips the
    full decode check of files already checked.
    """
    train_files = splits.train[: cfg.max_train_images or None]
    val_files = splits.val[: cfg.max_val_images or None]
    common = dict(batch_size=cfg.batch_size, seed=cfg.seed, check=check)
    rim_ids = rims.class_ids_of(cfg.clean_rims, mapping.class_names)
    mapper = rims.rim_free_mapper(mapping.tf_apply, rim_ids) if rim_ids else mapping.tf_apply
    sampled = dict(shuffle=True, rare_repeat=cfg.rare_repeat, label_mapper=mapper)
    train_ds = data.make_dataset(train_files, cfg.size, **common, **sampled)
    val_ds = data.make_dataset(val_files, cfg.size, **common, label_mapper=mapping.tf_apply)
    counts = weights = limits = None
    if count_classes:
        counts = losses.class_pixel_counts(train_ds, mapping.num_classes)
        weights = losses.class_weight_table(counts, cfg.class_weights)
        limits = tone.tone_limits(train_ds)  # before augmentation, from the filled cache
    paste = rims.class_ids_of(cfg.paste_classes, mapping.class_names)
    train_ds = augment.augment(train_ds, cfg.augment, cfg.seed, cfg.max_zoom, cfg.crop_size,
                               paste, cfg.photo_share, cfg.min_zoom,
                               cfg.colour_cast)  # fmt: skip
    prep = Prepared(train_ds, val_ds, train_files, val_files, counts, weights, cfg.batch_size,
                    tone_limits=limits)  # fmt: skip
    if cfg.early_share:  # the same files and recipe at the small size (utils.progressive)
        small = dataclasses.replace(cfg, image_size=cfg.early_size[0], early_share=0.0,
                                    image_width=cfg.early_size[1])  # fmt: skip
        prep.early_ds = prepare(splits, mapping, small, count_classes=False, check=False).train_ds
    return prep


def preview_batch(
    splits: data.Splits, mapping: ColourMapping, cfg: TrainConfig, n: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training images as the training pipeline delivers them (augmented)."""
    small = dataclasses.replace(cfg, max_train_images=max(n, cfg.batch_size), max_val_images=1)
    photos, ids = next(iter(prepare(splits, mapping, small, count_classes=False).train_ds))
    return photos.numpy()[:n], ids.numpy()[:n]


def compile_model(
    net: keras.Model, cfg: TrainConfig, num_classes: int, weights: np.ndarray | None, steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The recipe's optimizer (``TrainConfig.optimizer``) on its rate, loss and CM metric;
    returns the rate or its schedule. The optimizer's slots are built here, eagerly (in the
    caller's strategy scope): built in the first step, while Keras traces it, they would make
    TensorFlow trace the whole step twice (seconds per model; the same results)."""
    rate = cfg.learning_rate_schedule(steps)
    net.compile(
        optimizer=cfg.optimizer(rate),
        loss=cfg.loss(num_classes, weights),
        metrics=[metrics.ConfusionMatrixMetric(num_classes)],
    )
    net.optimizer.build(net.trainable_variables)
    return rate


def fit_to_budget(
    cfg: TrainConfig, splits: data.Splits, num_classes: int, strategy, resumed: Path | None = None,  # noqa: ANN001
    batches=None,  # noqa: ANN001 - the training dataset: its input pipeline is timed too
    early_batches=None,  # noqa: ANN001 - the small photos' dataset (progressive resizing)
) -> TrainConfig:  # fmt: skip
    """``cfg`` with ``epochs`` set to what fits ``cfg.train_minutes`` on this machine
    (``utils.budget``), timed on ``batches`` when given (and ``early_batches``: the epochs'
    mean cost); a resumed run (its model folder given) keeps the count it started with."""
    if resumed is not None:
        epochs = runio.load_json(resumed / model.CONFIG_FILE)["training"]["epochs"]
        return dataclasses.replace(cfg, epochs=epochs)
    steps = math.ceil(len(splits.train[: cfg.max_train_images or None]) / cfg.batch_size)
    keras.utils.set_random_seed(cfg.seed)
    with strategy.scope():  # a throwaway copy of the model
        net = model.build_unet(num_classes, cfg.input_shape, cfg.variant, **cfg.architecture)
        compile_model(net, cfg, num_classes, None, steps)

    def timed(ds, size):  # noqa: ANN001, ANN202 - a dataset (repeated: as many as timed) or None
        net.make_train_function(force=True)  # each size gets its own trace
        ds = None if ds is None else ds.repeat()
        return budget.step_seconds(net, cfg.batch_size, size, num_classes, batches=ds)

    step = timed(batches, cfg.train_size)
    if cfg.early_share:  # the share of the epochs on small photos costs less
        step = cfg.early_share * timed(early_batches, cfg.early_size) + (1 - cfg.early_share) * step
    epochs = budget.epochs_for(cfg.train_minutes, step, steps)
    log.info(
        "%.2f s per step x %d steps per epoch: %d epochs fit %g minutes (re-planned from the "
        "epochs' own pace as they run, up to %d)",
        step, steps, epochs, cfg.train_minutes, budget.epochs_ceiling(epochs, cfg.budget_stretch),
    )  # fmt: skip
    return dataclasses.replace(cfg, epochs=epochs)


@dataclass
class TrainResult:
    """What ``train`` hands back: the best model, its folder, history rows and val scores."""

    model: keras.Model
    model_dir: Path
    history: list[dict]
    val_scores: dict
    config: dict
    seconds: float
    val_files: list[Path]


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
    """Train one variant into ``run_dir/models/<variant>/``; resume an interrupted run. The
    returned ``val_scores`` (also ``val_metrics.json``) are the best epoch's on the validation
    files at the labels' native resolution (``utils.evaluate``)."""
    cfg = (cfg or TrainConfig()).check()
    splits = data_root if isinstance(data_root, data.Splits) else data.find_dataset(data_root)
    runio.writable_dir(run_dir)  # validation before anything is created: the output, every file
    data.check_files(
        [*splits.train[: cfg.max_train_images or None], *splits.val[: cfg.max_val_images or None]]
    )
    mapping = mapping or ColourMapping.palette()
    num_classes = mapping.num_classes
    model_dir = runio.model_dir(run_dir, cfg.variant)
    snapshot_dir = Path(snapshot_dir) if snapshot_dir else history.default_snapshot_dir(cfg.variant)
    pattern = history.SNAPSHOT_PATTERNS[cfg.variant]
    backup_dir = model_dir / "backup"
    done = history.backup_epoch(backup_dir) if resume else 0
    if not done:
        history.clear_backup(backup_dir)
        history.clear_previous(model_dir, snapshot_dir, pattern)
    for sub in (model.EPOCHS_DIR, "backup", "tensorboard"):
        (model_dir / sub).mkdir(parents=True, exist_ok=True)
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    previous = [r for r in history.load_history(model_dir, missing_ok=True) if r["epoch"] <= done]
    if done:
        log.info("%s: resuming after epoch %d of %d", model_dir, done, cfg.epochs)

    strategy = strategy or devices.choose_strategy()
    policy = devices.precision_policy(cfg.mixed_precision, strategy)
    previous_policy = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(cfg.seed)
        prep = prepare(splits, mapping, cfg, check=False)  # every file was decoded above
        if cfg.train_minutes:  # timed on the training pipeline itself (its cache is filled)
            resumed = model_dir if done else None
            cfg = fit_to_budget(
                cfg, splits, num_classes, strategy, resumed, prep.train_ds, prep.early_ds
            )
            keras.utils.set_random_seed(cfg.seed)
        photos, truths = history.snapshot_samples(
            prep.val_files, mapping, cfg.size, cfg.snapshot_samples, check=False
        )
        weights = prep.class_weights
        config_spec = model.spec_for(cfg.variant, **cfg.architecture)
        config = {
            "variant": cfg.variant,
            "input_size": list(cfg.size),
            "num_classes": num_classes,
            "class_names": list(mapping.class_names),
            "mapping_file": model.MAPPING_FILE,
            "mapping_source": mapping_source,
            "architecture": dataclasses.asdict(config_spec),
            "training": dataclasses.asdict(cfg),
            "precision_policy": policy,
            "strategy": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
            "data_root": str(splits.root),
            "layout": splits.layout,
            "n_train": len(prep.train_files),
            "n_val": len(prep.val_files),
            "class_pixel_counts": prep.class_counts.tolist(),
            "class_weights": None if weights is None else np.round(weights, 4).tolist(),
            "tone_limits": prep.tone_limits if config_spec.tone_guard else None,
            "snapshot_dir": str(snapshot_dir.resolve()),
            "snapshot_pattern": pattern,
        }
        mapping.save(model_dir / model.MAPPING_FILE)
        runio.save_json(config, model_dir / model.CONFIG_FILE)

        with strategy.scope():
            net = model.build_unet(num_classes, cfg.input_shape, cfg.variant, **cfg.architecture)
            rate = compile_model(net, cfg, num_classes, weights, prep.steps_per_epoch)
        guard = model.tone_guard_of(net)
        if guard is not None:  # in force from the first validation on; saved with every epoch
            guard.set_limits(prep.tone_limits)
        spent = previous[-1].get("train_minutes", 0.0) if previous else 0.0
        epochs = cfg.epochs  # the fit's length; a budgeted run's clock ends it after its plan
        planned = 0
        if cfg.train_minutes:  # a resumed run goes on with its clock's last plan
            planned = int((previous[-1].get("epochs_planned") if previous else 0) or cfg.epochs)
            epochs = budget.epochs_ceiling(cfg.epochs, cfg.budget_stretch)
        early = progressive.early_epochs(cfg.early_share, cfg.epochs)  # 0: one size throughout
        clock = budget.BudgetClock(  # logs train_minutes and epochs_planned
            cfg.train_minutes, rate, spent, planned, prep.steps_per_epoch, early
        )
        snapshot = history.EpochSnapshot(
            photos, truths, snapshot_dir, pattern, mapping, history.variant_label(cfg.variant)
        )
        callbacks = [clock] + history.training_callbacks(  # the clock first: its log is saved
            model_dir,
            previous,
            stop_patience=cfg.stop_patience,
            lr_patience=cfg.lr_patience if cfg.schedule == "plateau" else None,
            extra=[snapshot, *extra_callbacks],
        )
        phases = [(prep.early_ds, early)] if early else []  # small photos first
        start = time.perf_counter()
        progressive.fit_phases(
            net,
            [*phases, (prep.train_ds, epochs)],
            done,
            validation_data=prep.val_ds,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the dataset is already shuffled (utils.data)
        )
        seconds = time.perf_counter() - start
        history.clear_backup(backup_dir)  # a finished run: started again, it starts afresh
        best, _, _ = model.load_trained(model_dir)
        scores = evaluate.score_model(best, prep.val_files, mapping, cfg.size, check=False)
        runio.save_json(scores, model_dir / "val_metrics.json")
    finally:  # also after an interruption: later models in this process are float32 again
        keras.mixed_precision.set_global_policy(previous_policy)
    rows = history.load_history(model_dir)
    return TrainResult(best, model_dir, rows, scores, config, seconds, prep.val_files)


# --------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments: the run's folders and files here, the recipe's flags from
    ``utils.config.add_recipe_arguments`` (ranges checked by ``TrainConfig.check`` in ``main``).
    ``train.TrainConfig`` stays importable from here for the notebooks."""
    ap = argparse.ArgumentParser(prog="python -m utils.train", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset folder or folder of pair files")
    ap.add_argument("--out", required=True, help="run folder; the model goes to OUT/models/VARIANT")
    add_recipe_arguments(ap)
    ap.add_argument("--mapping", default="", help="colour mapping JSON (default: palette)")
    ap.add_argument("--snapshot-dir", default="", help="per-epoch figures (default by variant)")
    ap.add_argument("--fresh", action="store_true", help="do not resume an interrupted run")
    ap.add_argument("--skip-bad-files", action="store_true",
                    help="leave bad pair files out (listed) instead of stopping")  # fmt: skip
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Train from the command line; prints the validation scores of the best epoch. Options
    (exit 2), output folder, mapping and data (exit 1) are checked before anything is made."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        cfg = from_args(args)
    except checks.ParameterError as e:
        print(f"python -m utils.train: error: {e}", file=sys.stderr)
        return 2
    try:
        runio.writable_dir(args.out)
        mapping = ColourMapping.load(args.mapping) if args.mapping else ColourMapping.palette()
        splits = data.find_dataset(args.data)
        if args.skip_bad_files:  # logs a warning listing every file left out
            splits = data.skip_bad_files(splits)
        result = train(
            splits, args.out, cfg, mapping=mapping, mapping_source=args.mapping or "palette",
            snapshot_dir=args.snapshot_dir or None, resume=not args.fresh,
            verbose="auto" if sys.stdout.isatty() else 2,
        )  # fmt: skip
    except (OSError, ValueError) as e:  # DatasetError and ParameterError are ValueErrors
        print(f"training failed: {e}", file=sys.stderr)
        return 1
    print(f"{result.model_dir}: {len(result.history)} epochs in {result.seconds:.0f} s")
    print("best epoch on the validation split:")
    print(evaluate.report(result.val_scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
