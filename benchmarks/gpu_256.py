"""Model 2's 256 px recipe on a GPU machine that has JAX but no TensorFlow (Keras' JAX backend).

The lent GPU machines of this project's workplace carry PyTorch and JAX, not TensorFlow, and take
at most 64 MiB of files. So the run has two halves:

``pack`` (here, in the project's environment) decodes the real train pairs once, with the
project's own reader and palette mapping, into one ``.npz`` that travels: the photos re-encoded
as JPEG quality 90 (the pair files' 97 MB would not fit), the class ids, and the city hold-out
split of ``utils.data`` (train: files 1-2616; held out: ulm, weimar, zurich, 359 files).

``train`` (there, ``KERAS_BACKEND=jax``) trains model 2 at 256x256 with the default recipe of
``utils.config.TrainConfig`` (batch 16, Adam 2e-3 with half an epoch of warm-up and a cosine
decay, sqrt class weights, soft Dice 1.0, flips) under ``mixed_float16``, for as many epochs as
fit ``--minutes`` (``utils.budget``, as ``TRAIN_MINUTES`` does). After every epoch it scores the
held-out photos (at 256 px the input size is the labels' own), one line each. It writes a model
folder (``model.keras`` in float32, ``config.json``, ``mapping.json``, ``history.json``) that
``utils.evaluate`` and ``utils.predict`` load on any machine: score it here on the original
JPEGs with ``python -m utils.evaluate --model OUT/model2 --data ../shared/data/cityscapes_pairs``.

    python benchmarks/gpu_256.py pack --out .devdata/pairs256.npz
    KERAS_BACKEND=jax python benchmarks/gpu_256.py train --pack .devdata/pairs256.npz \
        --out OUT/model2 --minutes 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import keras
import numpy as np

from utils import budget, holdout, losses, metrics, model, runio, sampling, tone
from utils.colours import ColourMapping
from utils.config import TrainConfig

SIZE = 256
JPEG_QUALITY = 90
# The recipe measured at 256 px: model 2 as it was then (no strided stem, peak learning rate
# 2e-3, Dice weight 1, cosine decay), flips for augmentation (what ``FlipBatches`` does), mixed
# float16.
RECIPE = TrainConfig(
    variant="model2", architecture=model.FULL_SIZE_MODEL2, learning_rate=2e-3, image_size=SIZE,
    batch_size=16, augment="flip", mixed_precision="mixed_float16", weight_decay=0.0,
    dice_weight=1.0, schedule="cosine",
)  # fmt: skip


# --------------------------------------------------------------------------- pack (here)
def pack(data_root: str, out: Path) -> None:
    """Photos (JPEG bytes), class ids and the city hold-out split of the real pairs, one file."""
    from utils import data  # reads with the project's own decoder and split (needs TensorFlow)

    files = data.pair_files(Path(data_root) / "train")
    train, val, how = holdout.city_holdout_split(files)
    mapping = ColourMapping.palette()
    blobs, ids = [], np.zeros((len(files), SIZE, SIZE), np.uint8)
    for i, f in enumerate(files):
        photo, colours = data.read_pair(f)
        if photo.shape[:2] != (SIZE, SIZE):
            raise ValueError(f"{f}: photo is {photo.shape[:2]}, expected {SIZE}x{SIZE}")
        bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError(f"{f}: could not re-encode the photo")
        blobs.append(buf.ravel())
        ids[i] = mapping.apply(colours)
    offsets = np.cumsum([0] + [b.size for b in blobs])
    tmp = out.with_name(out.name + ".part.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        tmp, jpeg=np.concatenate(blobs), offsets=offsets, ids=ids,
        n_train=len(train), n_val=len(val), how=how, names=[f.name for f in files],
    )  # fmt: skip
    tmp.replace(out)
    print(f"{out}: {len(files)} pairs ({how}), {out.stat().st_size / 2**20:.1f} MiB")


# --------------------------------------------------------------------------- train (there)
class FlipBatches(keras.utils.PyDataset):
    """Shuffled batches of (photo float32 in [0, 1], ids), each pair mirrored with p = 0.5;
    with ``photo``, each photo then changed as ``utils.augment.photometric_batch`` does (that
    one is written in TensorFlow, which the GPU machine lacks) with probability ``photo``."""

    def __init__(
        self, photos: np.ndarray, ids: np.ndarray, batch: int, seed: int = 0, photo: float = 0.0,
        repeat: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.photos, self.ids, self.batch, self.photo = photos, ids, batch, photo
        self.rng = np.random.default_rng(seed)
        # ``repeat``: each photo's repeat factor r (``utils.sampling``, which does the same in
        # tf.data): an epoch lists each photo floor(r) times and once more with probability
        # r - floor(r), then keeps as many of the list, at random, as there are photos
        self.repeat = repeat
        self.order = self._draw()

    def _draw(self) -> np.ndarray:
        n = len(self.photos)
        if self.repeat is None:
            return self.rng.permutation(n)
        times = np.floor(self.repeat) + (self.rng.random(n) < self.repeat % 1)
        return self.rng.permutation(np.repeat(np.arange(n), times.astype(int)))[:n]

    def __len__(self) -> int:
        return -(-len(self.photos) // self.batch)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        pick = np.sort(self.order[i * self.batch : (i + 1) * self.batch])
        x, y = self.photos[pick], self.ids[pick]
        flip = self.rng.random(len(pick)) < 0.5
        x[flip], y[flip] = x[flip, :, ::-1], y[flip, :, ::-1]
        x = x.astype(np.float32) / 255.0
        if self.photo:
            x = photometric(x, self.rng, self.rng.random(len(pick)) < self.photo)
        return x, y

    def on_epoch_end(self) -> None:
        self.order = self._draw()


def photometric(x: np.ndarray, rng: np.random.Generator, which: np.ndarray) -> np.ndarray:
    """``utils.augment.photometric_batch``'s change (its default ranges: gamma 1/1.5-1.5,
    saturation and contrast x0.6-1.4, brightness +-0.1) on the photos ``which`` selects."""
    u = rng.uniform(-1.0, 1.0, (int(which.sum()), 4)).astype(np.float32)[:, None, None, :]
    v = np.power(np.maximum(x[which], 1e-6), np.exp(np.log(1.5) * u[..., 0:1]))
    grey = v.mean(axis=3, keepdims=True)
    v = grey + (v - grey) * (1.0 + 0.4 * u[..., 1:2])
    mean = v.mean(axis=(1, 2, 3), keepdims=True)
    x[which] = np.clip(mean + (v - mean) * (1.0 + 0.4 * u[..., 2:3]) + 0.1 * u[..., 3:4], 0, 1)
    return x


def compile_recipe(net: keras.Model, weights: np.ndarray, steps: int, cfg: TrainConfig) -> None:
    """Adam(W) on ``cfg``'s schedule and the segmentation loss, as ``utils.train.compile_model``."""
    loss = cfg.loss(len(weights), weights)
    net.compile(optimizer=cfg.optimizer(cfg.learning_rate_schedule(steps)), loss=loss)


def held_out_scores(
    net: keras.Model, photos: np.ndarray, ids: np.ndarray, classes: int,
    size: Sequence[int] | None = None,
) -> dict:  # fmt: skip
    """Confusion-matrix scores of ``net`` on the held-out photos at the labels' own 256 px: the
    photos go in at ``size`` (default: the model's input size), the logits are resized
    (bilinear) to the labels'."""
    size = tuple(int(s) for s in (size or net.input_shape[1:3]))
    cm = np.zeros((classes, classes), np.int64)
    for start in range(0, len(photos), 32):
        x = resized(photos[start : start + 32], size).astype(np.float32) / 255.0
        logits = net.predict_on_batch(x)
        if size != ids.shape[1:3]:
            logits = keras.ops.image.resize(logits, ids.shape[1:3], interpolation="bilinear")
        pred = np.argmax(keras.ops.convert_to_numpy(logits), axis=-1)
        cm += metrics.confusion_matrix(ids[start : start + 32], pred, classes)
    return metrics.scores(cm) | {"confusion_matrix": cm.tolist()}


def resized(images: np.ndarray, size: Sequence[int], nearest: bool = False) -> np.ndarray:
    """A stack of photos (area) or class ids (nearest) at ``size``, as ``utils.data`` resizes."""
    if tuple(images.shape[1:3]) == tuple(size):
        return images
    how = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return np.stack([cv2.resize(im, tuple(size)[::-1], interpolation=how) for im in images])


# Candidates screened side by side (``screen``): per-epoch quality at the epochs each one's
# training step lets fit in 35 minutes on the project's 2-core CPU (step times measured there).
STEM = dict(stem_stride=2, widths=(32, 48, 72, 96), bridge=192, separable=False)
SCREEN = {
    "model2_128_e6": dict(image_size=128, epochs=6, architecture=model.FULL_SIZE_MODEL2),  # 2.1 s
    "stem_128_e18": dict(image_size=128, epochs=18, architecture=STEM),  # 0.68 s
    "stem_128_e18_lr4": dict(image_size=128, epochs=18, architecture=STEM, learning_rate=4e-3),
    "stemppm_128_e15": dict(image_size=128, epochs=15, architecture=STEM | {"context": "ppm"}),
    "stem_192_e8": dict(image_size=192, epochs=8, architecture=STEM),  # about 1.5 s
    "widestem_128_e9": dict(
        image_size=128, epochs=9, architecture=STEM | {"widths": (32, 64, 96, 128), "bridge": 256}
    ),  # about 1.3 s
}
# Model 2 before separable blocks (the strided stem, peak 4e-3): 16 epochs fit 33 CPU minutes.
SEPARABLE_WIDE = {"separable": True, "widths": (48, 64, 96, 128), "bridge": 256}
TODAY = dict(image_size=128, epochs=16, learning_rate=4e-3, architecture=model.STANDARD_MODEL2)
SCREEN |= {
    "today_e16": TODAY,
    "today_e16_seed1": TODAY | {"seed": 1},
    "ohem25_e16": TODAY | {"hard_pixels": 0.25},  # no extra CPU cost
    "lr6_e16": TODAY | {"learning_rate": 6e-3},
    "lovasz_e9": TODAY | {"epochs": 9, "lovasz_weight": 1.0},  # its sort doubles the CPU step
    "ohem25_lr6_e16": TODAY | {"hard_pixels": 0.25, "learning_rate": 6e-3},
    # Lovasz on a quarter of the pixels (utils.losses.LOVASZ_STRIDE): +0.2 s on a 0.7 s CPU step
    "lovasz2_e13": TODAY | {"epochs": 13, "lovasz_weight": 1.0},
    "lovasz2_nodice_e14": TODAY | {"epochs": 14, "lovasz_weight": 1.0, "dice_weight": 0.0},
    "lovasz2_e16": TODAY | {"lovasz_weight": 1.0},
    # depthwise-separable blocks (UNetSpec.separable): 0.41 s and 0.56 s against today's 0.68 s
    "sep_e27": TODAY | {"epochs": 27, "architecture": model.STANDARD_MODEL2 | {"separable": True}},
    "sepwide_e19": TODAY | {"epochs": 19, "architecture": SEPARABLE_WIDE},
}
# The third and fourth screens' recipes below, as they ran: meant as today's model 2 (separable,
# widths 48-128, batches of 8; about 14 epochs at 128 px fit 33 CPU minutes), they named no
# architecture and so trained ``RECIPE``'s, the full-size model 2 (no strided stem, plain
# blocks; 2.5-3x today's CPU step). Spelled out here so that they rerun as they ran; every
# recipe names its network (a test checks). ``finetune``: (size, epochs) more on the same network
# and schedule at a larger input, scored at that size; the epochs it costs at 128 px are taken off
# (an epoch at 256 px counted as four at 128 px, 192 px as 2.25: the pixels; not timed on the CPU).
DEFAULT = dict(image_size=128, epochs=14, learning_rate=4e-3, batch_size=8,
               architecture=model.FULL_SIZE_MODEL2)  # fmt: skip
S4 = {"stem_stride": 4, "stem_width": 16}
SCREEN |= {
    "default_e14": DEFAULT,
    "ft256_e11": DEFAULT | {"epochs": 11, "finetune": (256, 0.75)},
    "ft256_e8": DEFAULT | {"epochs": 8, "finetune": (256, 1.5)},
    "ft192_e11": DEFAULT | {"epochs": 11, "finetune": (192, 1.33)},
    "ft256_e12": DEFAULT | {"epochs": 12, "finetune": (256, 0.5)},
    "default_e14_seed1": DEFAULT | {"seed": 1},  # how much the seed moves a 14-epoch run
    # the photometric augmentation of the CPU default (``photo``: the share of photos changed)
    "photo_e14": DEFAULT | {"photo": 1.0},
    "photo_half_e14": DEFAULT | {"photo": 0.5},
    # whole 256 px photos through a stride-4 stem (2.5x the CPU step: 6 epochs in the budget)
    "s4_256_e6": DEFAULT | dict(epochs=6, image_size=256, architecture=S4),
    # batches of 4: 0.45x the CPU step of 8 (bench_step.py, random data), twice the updates
    "batch4_e14": DEFAULT | {"batch_size": 4},
}
# Today's model 2 itself (``architecture={}``: ``utils.model.SPECS["model2"]``), flips only and
# with the CPU default's photometric changes: the GPU reference for the rows above.
TODAY2 = DEFAULT | {"architecture": {}}
SCREEN |= {
    "today2_e14": TODAY2,
    "today2_photo_e14": TODAY2 | {"photo": 1.0},
    "today2_e18": TODAY2 | {"epochs": 18},  # what a budget clock that lengthens a run may add
}
# The real-data default since photos in the street's proportions (96 x 192, photometric changes;
# 16 epochs fit 33 CPU minutes), and the levers left: a larger wide input at the epochs its CPU
# step affords (128 x 256: 1.78x the pixels, 9 epochs), more epochs (what a faster step would
# buy), a smaller input for twice the epochs, and repeat-factor sampling of rare classes.
WIDE = TODAY2 | {"image_size": 96, "image_width": 192, "epochs": 16, "photo": 1.0}
SCREEN |= {
    "wide96_e16": WIDE,
    "wide128_e9": WIDE | {"image_size": 128, "image_width": 256, "epochs": 9},
    "wide96_rfs_e16": WIDE | {"rfs": 0.1},
    "wide96_e24": WIDE | {"epochs": 24},
    "wide64_e32": WIDE | {"image_size": 64, "image_width": 128, "epochs": 32},
}


def scored(epoch: int, epochs: int, times: int) -> bool:
    """Whether ``epoch`` (from 1) is one of about ``times`` evenly spaced scored ones, the last
    always included."""
    return epoch == epochs or epoch % max(1, epochs // times) == 0


def training_tone_limits(photos: np.ndarray, batch: int = 64) -> dict:
    """The tone guard's limits (``utils.tone.tone_limits``) of uint8 training photos."""
    return tone.tone_limits(
        photos[i : i + batch].astype(np.float32) / 255.0 for i in range(0, len(photos), batch)
    )


def load_pack(pack_file: Path, limit: int = 0) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(photos uint8, ids, number of training pairs, how the split was made) from ``pack``."""
    packed = np.load(pack_file)
    jpeg, offsets = packed["jpeg"], packed["offsets"]
    photos = np.stack([
        cv2.cvtColor(cv2.imdecode(jpeg[a:b], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        for a, b in zip(offsets[:-1], offsets[1:], strict=True)
    ])  # fmt: skip
    ids, n_train = packed["ids"], int(packed["n_train"])
    if limit:  # a smoke test: the first ``limit`` train and held-out pairs
        keep = np.r_[0:limit, n_train : n_train + limit]
        photos, ids, n_train = photos[keep], ids[keep], limit
    return photos, ids, n_train, str(packed["how"])


def screen(
    pack_file: Path, out: Path, names: Sequence[str], limit: int = 0,
    policy: str = RECIPE.mixed_precision,
) -> dict:  # fmt: skip
    """Train each named ``SCREEN`` recipe for its epochs; held-out native mIoU after each epoch.
    ``policy="float32"`` runs the same screen on a CPU (float16 is slow there)."""
    photos, ids, n_train, how = load_pack(pack_file, limit)
    mapping = ColourMapping.palette()
    classes = mapping.num_classes
    counts = np.bincount(ids[:n_train].ravel(), minlength=256)[:classes]
    weights = losses.class_weight_table(counts, RECIPE.class_weights)
    print(f"backend {keras.backend.backend()}, devices {_devices()}: {n_train} train, "
          f"{len(photos) - n_train} held out ({how})", flush=True)  # fmt: skip
    keras.mixed_precision.set_global_policy(policy)
    results: dict = {}
    for name in names:
        recipe = dict(SCREEN[name])
        ft_size, ft_epochs = recipe.pop("finetune", (0, 0.0))
        photo = recipe.pop("photo", 0.0)
        rfs = recipe.pop("rfs", 0.0)
        cfg = replace(RECIPE, **recipe)
        size = cfg.size
        repeat = sampling.photo_factors(ids[:n_train], rfs) if rfs else None
        batches = FlipBatches(
            resized(photos[:n_train], size), resized(ids[:n_train], size, nearest=True),
            cfg.batch_size, cfg.seed, photo, repeat,
        )  # fmt: skip
        keras.utils.set_random_seed(cfg.seed)
        net = model.build_unet(
            classes, (None, None) if ft_size else size, cfg.variant, **cfg.architecture
        )
        ft_steps = int(round(ft_epochs * len(batches)))
        # one schedule over both phases: the epochs at ``size`` and the fine-tune steps
        compile_recipe(net, weights, len(batches), replace(cfg, epochs=cfg.epochs + ft_epochs))
        curve, start, train_s = [], time.perf_counter(), 0.0
        for epoch in range(1, cfg.epochs + 1):
            t = time.perf_counter()
            net.fit(batches, epochs=epoch, initial_epoch=epoch - 1, verbose=0)
            train_s += time.perf_counter() - t
            if not scored(epoch, cfg.epochs, 4):
                continue
            s = held_out_scores(net, photos[n_train:], ids[n_train:], classes, size)
            curve.append(dict(epoch=epoch, mean_iou=round(s["mean_iou"], 4),
                              pixel_accuracy=round(s["pixel_accuracy"], 4)))  # fmt: skip
            print(f"{name}: epoch {epoch}/{cfg.epochs} native mIoU {s['mean_iou']:.4f} "
                  f"({train_s:.0f} s of fit)", flush=True)  # fmt: skip
        if ft_steps:
            big = FlipBatches(
                resized(photos[:n_train], (ft_size, ft_size)),
                resized(ids[:n_train], (ft_size, ft_size), nearest=True),
                cfg.batch_size, cfg.seed,
            )  # fmt: skip
            # TensorFlow would retrace the step with unknown sizes, which UpSampling2D cannot
            # take: a fresh step function is traced at the new size (no-op cost on JAX)
            net.make_train_function(force=True)
            t = time.perf_counter()
            done = 0
            while done < ft_steps:  # whole passes, then the remainder
                run = min(len(big), ft_steps - done)
                net.fit(big, epochs=1, steps_per_epoch=run, verbose=0)
                done += run
            train_s += time.perf_counter() - t
            for at in sorted({size[0], ft_size}):
                net.make_predict_function(force=True)  # as above, for each input size
                s = held_out_scores(net, photos[n_train:], ids[n_train:], classes, (at, at))
                curve.append(dict(epoch=f"+{ft_epochs}@{ft_size}, read at {at}",
                                  mean_iou=round(s["mean_iou"], 4),
                                  pixel_accuracy=round(s["pixel_accuracy"], 4)))  # fmt: skip
                print(f"{name}: + {ft_epochs} epochs at {ft_size} px, read at {at} px: native "
                      f"mIoU {s['mean_iou']:.4f} ({train_s:.0f} s of fit)", flush=True)  # fmt: skip
        per_class = dict(
            zip(mapping.class_names, np.round(s["per_class_iou"], 3).tolist(), strict=True)
        )
        results[name] = dict(recipe=SCREEN[name], curve=curve, per_class_iou=per_class,
                             fit_seconds=round(train_s, 1),
                             seconds=round(time.perf_counter() - start, 1))  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        runio.save_json(results, out / "screen.json")
    return results


def train(
    pack_file: Path, out: Path, minutes: float, max_epochs: int, limit: int = 0,
    recipe: TrainConfig = RECIPE,
) -> None:  # fmt: skip
    """Train model 2 at 256 px for ``minutes`` of training steps; write a loadable model folder."""
    t0 = time.perf_counter()
    photos, ids, n_train, how = load_pack(pack_file, limit)
    packed = np.load(pack_file)
    mapping = ColourMapping.palette()
    classes = mapping.num_classes
    counts = np.bincount(ids[:n_train].ravel(), minlength=256)[:classes]
    weights = losses.class_weight_table(counts, recipe.class_weights)
    batches = FlipBatches(photos[:n_train], ids[:n_train], recipe.batch_size)
    steps = len(batches)
    print(f"backend {keras.backend.backend()}, devices {_devices()}; loaded in "
          f"{time.perf_counter() - t0:.0f} s: {n_train} train, {len(photos) - n_train} held out "
          f"({how})", flush=True)  # fmt: skip

    keras.mixed_precision.set_global_policy(recipe.mixed_precision)
    keras.utils.set_random_seed(0)
    probe = model.build_unet(classes, (SIZE, SIZE), "model2", **recipe.architecture)
    compile_recipe(probe, weights, steps, replace(recipe, epochs=1))
    step = budget.step_seconds(probe, recipe.batch_size, (SIZE, SIZE), classes, steps=10)
    epochs = min(max_epochs, budget.epochs_for(minutes, step, steps))
    print(f"{step * 1000:.1f} ms per step x {steps} steps: {epochs} epochs fit {minutes:g} min",
          flush=True)  # fmt: skip

    keras.utils.set_random_seed(0)
    net = model.build_unet(classes, (SIZE, SIZE), "model2", **recipe.architecture)
    compile_recipe(net, weights, steps, replace(recipe, epochs=epochs))
    limits = training_tone_limits(photos[:n_train])
    if (guard := model.tone_guard_of(net)) is not None:  # as ``utils.train`` sets it
        guard.set_limits(limits)
    val_photos, val_ids = photos[n_train:], ids[n_train:]
    history: list[dict] = []
    train_s = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        logs = net.fit(batches, epochs=epoch, initial_epoch=epoch - 1, verbose=0).history
        train_s += time.perf_counter() - start
        row = dict(epoch=epoch, train_minutes=train_s / 60, loss=logs["loss"][-1])
        if not scored(epoch, epochs, 8):
            history.append(row)
            continue
        s = held_out_scores(net, val_photos, val_ids, classes)
        history.append(
            row | {"val_mean_iou": s["mean_iou"], "val_pixel_accuracy": s["pixel_accuracy"]}
        )
        print(f"epoch {epoch}/{epochs}: {train_s / 60:.2f} min, loss {logs['loss'][-1]:.3f}, "
              f"held-out mIoU {s['mean_iou']:.4f}, pixel acc {s['pixel_accuracy']:.4f}",
              flush=True)  # fmt: skip
    save_folder(net, out, mapping, epochs, train_s, step, history, counts, weights, packed, recipe,
                limits)  # fmt: skip
    print(f"wrote {out} after {time.perf_counter() - t0:.0f} s in all", flush=True)


def _devices() -> str:
    try:
        import jax

        return ", ".join(d.device_kind for d in jax.devices())
    except ImportError:
        return "(not JAX)"


def save_folder(  # noqa: ANN201, PLR0913
    net, out, mapping, epochs, train_s, step, history, counts, weights, packed,  # noqa: ANN001
    recipe: TrainConfig = RECIPE, limits: dict | None = None,
):  # fmt: skip
    """The model folder ``utils.model.load_trained`` reads, with float32 weights (any CPU)."""
    keras.mixed_precision.set_global_policy("float32")
    plain = model.build_unet(mapping.num_classes, (SIZE, SIZE), "model2", **recipe.architecture)
    plain.set_weights(net.get_weights())
    out.mkdir(parents=True, exist_ok=True)
    training = asdict(replace(recipe, epochs=epochs, train_minutes=round(train_s / 60, 2)))
    config = {
        "variant": "model2", "input_size": [SIZE, SIZE], "num_classes": mapping.num_classes,
        "class_names": list(mapping.class_names), "mapping_file": model.MAPPING_FILE,
        "mapping_source": "palette",
        "architecture": asdict(model.spec_for("model2", **recipe.architecture)),
        "training": training, "precision_policy": recipe.mixed_precision,
        "backend": keras.backend.backend(), "device": _devices(), "step_seconds": step,
        "n_train": int(packed["n_train"]), "n_val": int(packed["n_val"]),
        "split": str(packed["how"]), "photos": f"re-encoded JPEG quality {JPEG_QUALITY}",
        "class_pixel_counts": counts.tolist(), "class_weights": np.round(weights, 4).tolist(),
        "tone_limits": limits if model.tone_guard_of(plain) is not None else None,
    }  # fmt: skip
    plain.save(out / model.MODEL_FILE)
    mapping.save(out / model.MAPPING_FILE)
    runio.save_json(config, out / model.CONFIG_FILE)
    runio.save_json(history, out / "history.json")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="decode the real train pairs into one file that travels")
    p.add_argument("--data", default="../shared/data/cityscapes_pairs")
    p.add_argument("--out", type=Path, default=Path(".devdata/pairs256.npz"))
    t = sub.add_parser("train", help="train model 2 at 256 px on a packed file (KERAS_BACKEND=jax)")
    t.add_argument("--pack", type=Path, default=Path(".devdata/pairs256.npz"))
    t.add_argument("--out", type=Path, required=True, help="model folder to write")
    t.add_argument("--minutes", type=float, default=5.0, help="budget of training steps")
    t.add_argument("--max-epochs", type=int, default=200)
    t.add_argument("--limit", type=int, default=0, help="smoke test: this many pairs of each part")
    t.add_argument("--today", action="store_true",
                   help="today's model 2 and its peak learning rate 4e-3 instead of the full-size "
                   "model 2 measured first (batch 16 for both)")  # fmt: skip
    c = sub.add_parser("screen", help="candidate recipes side by side (KERAS_BACKEND=jax)")
    c.add_argument("--pack", type=Path, default=Path(".devdata/pairs256.npz"))
    c.add_argument("--out", type=Path, required=True, help="folder for screen.json")
    c.add_argument("--recipes", nargs="+", default=list(SCREEN), choices=list(SCREEN))
    c.add_argument("--limit", type=int, default=0, help="smoke test: this many pairs of each part")
    c.add_argument("--policy", default=RECIPE.mixed_precision, choices=["mixed_float16", "float32"],
                   help="float32 to run the screen on a CPU")  # fmt: skip
    args = ap.parse_args(argv)
    if args.command == "pack":
        pack(args.data, args.out)
    elif args.command == "screen":
        screen(args.pack, args.out, args.recipes, args.limit, args.policy)
    else:
        recipe = replace(RECIPE, architecture={}, learning_rate=4e-3) if args.today else RECIPE
        train(args.pack, args.out, args.minutes, args.max_epochs, args.limit, recipe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
