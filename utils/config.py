"""What defines a training run: ``TrainConfig`` (saved as ``config.json``'s ``training``), its
checks, which run before anything is created, and its command-line flags."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from numbers import Real

import keras

from utils import budget, checks, losses, model, rims

SCHEDULES = ("constant", "plateau", *budget.DECAY_SHAPES)  # the last: utils.budget.WarmupCosine
# What a run that leaves a field at 0 (weight decay, Dice: below 0) gets, per variant (measured:
# the README of Semantic_out_2): Adam's peak learning rate (model 2: 4e-3 with the strided stem,
# 8e-3 since fused batch norm fit 22-26 epochs in 33 minutes: ahead in two runs), the photos per
# step (model 2 reached the same held-out mIoU in 0.87x the minutes with 8 as with 16), AdamW's
# weight decay (model 2: +0.013 after 16 epochs), the soft Dice term's weight (model 2: twice
# the weight lifted the thin classes, two seeds) and the learning rate's decay after the warm-up
# (model 2: linear rather than cosine, ahead in a side by side and a screen at 33 minutes).
VARIANT_DEFAULTS = {
    "model1": {"learning_rate": 2e-3, "batch_size": 16, "weight_decay": 0.0, "dice_weight": 1.0,
               "schedule": "cosine"},
    "model2": {"learning_rate": 8e-3, "batch_size": 8, "weight_decay": 0.05, "dice_weight": 2.0,
               "schedule": "linear"},
}  # fmt: skip
SIGNED_FIELDS = ("weight_decay", "dice_weight")  # 0 is a choice here: below 0 means the variant's
# What TrainConfig.check allows: whole numbers (minimum) and numbers (checks.number limits).
WHOLE_FIELDS = {
    "epochs": 1, "batch_size": 1, "max_train_images": 0, "max_val_images": 0, "seed": 0,
    "lr_patience": 0, "stop_patience": 0, "snapshot_samples": 1, "crop_size": 0,
    "image_width": 0,
}  # fmt: skip
NUMBER_FIELDS = {
    "learning_rate": {"above": 0}, "warmup_epochs": {"minimum": 0}, "max_zoom": {"minimum": 1},
    "min_zoom": {"above": 0, "maximum": 1},
    "dice_weight": {"minimum": 0}, "train_minutes": {"minimum": 0},
    "budget_stretch": {"minimum": 1},
    "lovasz_weight": {"minimum": 0}, "hard_pixels": {"minimum": 0, "maximum": 0.99},
    "rare_repeat": {"minimum": 0, "maximum": 1}, "weight_decay": {"minimum": 0},
    "early_share": {"minimum": 0, "maximum": 0.9}, "early_scale": {"above": 0, "maximum": 1},
    "photo_share": {"minimum": 0, "maximum": 1}, "colour_cast": {"minimum": 0, "maximum": 1},
}  # fmt: skip


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in ``config.json``)."""

    variant: str = "model1"
    architecture: dict = dataclasses.field(default_factory=dict)  # overrides of the variant's spec
    image_size: int = 128  # whole photos at this size: evaluation, prediction (and training)
    image_width: int = 0  # 0: square photos; N: image_size high and N wide (e.g. 96 x 192)
    crop_size: int = 0  # 0: train on whole photos; N: on random-scale NxN crops (utils.augment)
    early_share: float = 0.0  # > 0: this share of the epochs first, on photos early_scale x
    early_scale: float = 2 / 3  # the size (progressive resizing: utils.progressive)
    epochs: int = 12
    train_minutes: float = 0.0  # > 0: as many epochs as fit this many minutes here (utils.budget)
    budget_stretch: float = budget.STRETCH  # a budgeted run may grow to this x its plan (1: never)
    batch_size: int = 0  # photos per step; 0: the variant's own (VARIANT_DEFAULTS)
    learning_rate: float = 0.0  # Adam's peak; 0: the variant's own (VARIANT_DEFAULTS)
    weight_decay: float = -1.0  # AdamW's decay of the kernels (0: Adam); < 0: the variant's own
    schedule: str = ""  # constant | plateau (ReduceLROnPlateau) | cosine | linear; "": variant's
    warmup_epochs: float = 0.5
    augment: str = "photo"  # none | flip | full (+ zoom, jitter) | photo (+ gamma...) | photo_zoom
    max_zoom: float = 1.5
    min_zoom: float = 1.0  # below 1: the zoom modes also shrink photos into a void frame
    photo_share: float = 1.0  # the share of photos the photometric modes change (per image)
    colour_cast: float = 0.0  # > 0: the photometric modes also change white balance (augment)
    class_weights: str = "sqrt"  # none | median (median frequency) | sqrt (inverse sqrt frequency)
    dice_weight: float = -1.0  # soft Dice term added to the cross-entropy; < 0: the variant's own
    lovasz_weight: float = 0.0  # Lovasz-softmax term added too (utils.losses)
    hard_pixels: float = 0.0  # 0: cross-entropy on every pixel; 0.25: on each image's hardest 25 %
    clean_rims: tuple[str, ...] = ()  # classes whose JPEG rims are void in training (utils.rims)
    rare_repeat: float = 0.0  # > 0: photos with rare classes more often (utils.sampling)
    paste_classes: tuple[str, ...] = ()  # pasted from the next photo of a batch (utils.augment)
    max_train_images: int = 0  # 0 = all
    max_val_images: int = 0
    seed: int = 0
    mixed_precision: str = "auto"  # auto | off | a Keras policy name
    lr_patience: int = 2
    stop_patience: int = 5
    snapshot_samples: int = 4

    def __post_init__(self) -> None:
        own = VARIANT_DEFAULTS.get(self.variant, VARIANT_DEFAULTS["model1"])
        for name, value in own.items():  # saved as the value used, not as 0, -1 or ""
            given = getattr(self, name)
            if isinstance(given, str):
                unset = given == ""
            elif isinstance(given, Real):
                unset = given < 0 if name in SIGNED_FIELDS else given == 0
            else:
                continue  # check() names the field and what it takes
            if unset:
                setattr(self, name, value)

    @property
    def size(self) -> tuple[int, int]:
        """The model's input size for whole photos (height, width): evaluation and prediction."""
        return (self.image_size, self.image_width or self.image_size)

    @property
    def train_size(self) -> tuple[int, int]:
        """The size of the training batches: the crop, or the whole photo."""
        return (self.crop_size,) * 2 if self.crop_size else self.size

    @property
    def early_size(self) -> tuple[int, int]:
        """The photos' size in the first, small-photo epochs (progressive resizing)."""
        return tuple(int(round(s * self.early_scale)) for s in self.size)

    @property
    def input_shape(self) -> tuple[int | None, int | None]:
        """The training model's input size: ``(None, None)`` where training batches differ in
        size from the whole photos of evaluation (crops, progressive resizing)."""
        return (None, None) if self.crop_size or self.early_share else self.size

    @classmethod
    def plain(cls, **overrides) -> TrainConfig:
        """The plain reference recipe: Adam 1e-3 constant, no augmentation, no class weights."""
        base = dict(
            variant="model1", learning_rate=1e-3, schedule="constant", augment="none",
            class_weights="none", dice_weight=0.0, weight_decay=0.0,
        )  # fmt: skip
        return cls(**{**base, **overrides})

    def loss(self, num_classes: int, class_weights) -> keras.losses.Loss:  # noqa: ANN001
        """The segmentation loss of this recipe (``class_weights``: per class, or None)."""
        return losses.SegmentationLoss(
            num_classes, class_weights, self.dice_weight, self.lovasz_weight, self.hard_pixels
        )

    def learning_rate_schedule(self, steps: int):  # noqa: ANN201 - float or a Keras schedule
        """The learning rate for ``steps`` steps per epoch: constant (also under ``plateau``) or
        half-epoch warm-up from a tenth of the peak, then cosine (or linear) decay to 1 % of it
        (``utils.budget.WarmupCosine``: a budgeted run can end it earlier)."""
        if self.schedule not in budget.DECAY_SHAPES:
            return self.learning_rate
        warmup = int(round(self.warmup_epochs * steps))
        return budget.WarmupCosine(
            self.learning_rate, steps * self.epochs, warmup, shape=self.schedule
        )

    def optimizer(self, rate) -> keras.optimizers.Optimizer:  # noqa: ANN001 - float or schedule
        """Adam, or AdamW with ``weight_decay`` (decoupled, Loshchilov & Hutter) on the
        convolution kernels only: batch-norm scales and offsets and biases are left alone."""
        if not self.weight_decay:
            return keras.optimizers.Adam(rate)
        adamw = keras.optimizers.AdamW(rate, weight_decay=self.weight_decay)
        adamw.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
        return adamw

    def check(self) -> TrainConfig:
        """Raise ``checks.ParameterError`` (a ``ValueError``) naming a field of the wrong type
        or value and what is allowed; returns self. Runs before anything is created."""
        from utils import augment  # here: the recipe itself needs no TensorFlow (GPU benchmark)

        choices = {"variant": model.VARIANTS, "schedule": SCHEDULES,
                   "augment": augment.AUGMENT_MODES,
                   "class_weights": losses.CLASS_WEIGHT_METHODS}  # fmt: skip
        checks.fields(self, choices, WHOLE_FIELDS, NUMBER_FIELDS)
        for name in ("clean_rims", "paste_classes"):
            try:
                setattr(self, name, rims.check_classes(getattr(self, name)))
            except (TypeError, ValueError) as e:
                raise checks.ParameterError(name, getattr(self, name), str(e)) from None
        spec = self._checked_spec()
        divisor = model.input_divisor(spec)
        if checks.whole("image_size", self.image_size, divisor) % divisor:
            why = f"must be a multiple of {divisor} for {self.variant} (its poolings and stem)"
            raise checks.ParameterError("image_size", self.image_size, why)
        if self.image_width % divisor:
            why = f"must be 0 (square) or a multiple of {divisor} for {self.variant}"
            raise checks.ParameterError("image_width", self.image_width, why)
        if self.crop_size % divisor or self.crop_size > min(self.size):
            why = f"must be 0 or a multiple of {divisor} up to the photo's size {self.size}"
            raise checks.ParameterError("crop_size", self.crop_size, why)
        if self.early_share and (self.crop_size or any(s % divisor for s in self.early_size)):
            why = (
                f"gives {self.early_size[0]} x {self.early_size[1]} photos; progressive resizing "
                f"needs whole photos (no crop_size) of a multiple of {divisor}"
            )
            raise checks.ParameterError("early_scale", self.early_scale, why)
        if self.mixed_precision not in ("auto", "off"):
            try:
                keras.mixed_precision.Policy(self.mixed_precision)
            except (ValueError, TypeError):
                why = "choose 'auto', 'off' or a Keras dtype policy, e.g. 'mixed_bfloat16'"
                raise checks.ParameterError("mixed_precision", self.mixed_precision, why) from None
        return self

    def _checked_spec(self) -> model.UNetSpec:
        """The variant's spec with ``architecture`` applied, or an error naming what is wrong."""
        known = [f.name for f in dataclasses.fields(model.UNetSpec)]
        if not isinstance(self.architecture, dict):
            why = (
                f"must be a dict of UNetSpec fields ({', '.join(known)}), e.g. {{'stem_stride': 1}}"
            )
            raise checks.ParameterError("architecture", self.architecture, why)
        unknown = sorted(set(self.architecture) - set(known))
        if unknown:
            why = (
                f"unknown field(s) {', '.join(map(repr, unknown))}; UNetSpec has {', '.join(known)}"
            )
            raise checks.ParameterError("architecture", self.architecture, why)
        try:
            return model.check_spec(model.spec_for(self.variant, **self.architecture))
        except (TypeError, ValueError) as e:
            raise checks.ParameterError("architecture", self.architecture, str(e)) from None


# --------------------------------------------------------------------------- command line
def add_recipe_arguments(ap: argparse.ArgumentParser) -> None:
    """The recipe's flags of ``python -m utils.train`` (types by argparse, ranges by
    ``TrainConfig.check``): each flag's ``dest`` is its ``TrainConfig`` field; None: the
    recipe's own value."""
    from utils import augment  # here: the recipe itself needs no TensorFlow (GPU benchmark)

    d = TrainConfig()
    ap.add_argument("--variant", default=None, choices=model.VARIANTS)
    ap.add_argument("--plain", action="store_true", help="plain reference recipe (model 1, Adam "
                    "1e-3 constant, no augmentation, no class weights)")  # fmt: skip
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--minutes", type=float, default=d.train_minutes, dest="train_minutes",
                    help="as many epochs as fit these minutes (overrides --epochs)")  # fmt: skip
    ap.add_argument("--image-size", type=int, default=d.image_size, help="photo height (and width)")
    ap.add_argument("--image-width", type=int, default=0, help="photo width, if not square")
    ap.add_argument("--early-share", type=float, default=d.early_share, help="this share of the "
                    "epochs first on photos --early-scale the size (progressive)")  # fmt: skip
    ap.add_argument("--early-scale", type=float, default=d.early_scale, help="0.5 for 128 x 256")
    ap.add_argument("--crop-size", type=int, default=d.crop_size,
                    help="train on random-scale crops of this size (0: whole photos)")  # fmt: skip
    ap.add_argument("--batch-size", type=int, default=0, help="0: the variant's (16 or 8)")
    ap.add_argument("--lr", type=float, dest="learning_rate", help="peak learning rate")
    ap.add_argument("--weight-decay", type=float, default=None, help="AdamW's decay (0: Adam)")
    ap.add_argument("--schedule", choices=SCHEDULES, default=None,
                    help="the decay after warm-up (model 1: cosine, model 2: linear)")  # fmt: skip
    ap.add_argument("--augment", choices=augment.AUGMENT_MODES, default=None)
    ap.add_argument("--min-zoom", type=float, help="the zoom modes' least zoom (< 1: shrink)")
    ap.add_argument("--max-zoom", type=float, help="the zoom modes' largest zoom (1.5)")
    ap.add_argument("--photo-share", type=float, help="share of photos changed in colour (1: all)")
    ap.add_argument("--colour-cast", type=float, help="photometric modes' white balance (0: none)")
    ap.add_argument("--class-weights", choices=losses.CLASS_WEIGHT_METHODS, default=None)
    ap.add_argument("--dice", type=float, dest="dice_weight", help="Dice weight (model 1: 1, 2: 2)")
    ap.add_argument("--lovasz", type=float, dest="lovasz_weight", help="weight of a Lovasz term")
    ap.add_argument("--hard-pixels", type=float, default=None,
                    help="cross-entropy on this share of the hardest pixels (0: all)")  # fmt: skip
    ap.add_argument("--clean-rims", nargs="*", default=None, metavar="CLASS",
                    help="void these classes' JPEG rims in training; alone: wall truck bus "
                    "train (utils.rims)")  # fmt: skip
    ap.add_argument("--rare-repeat", type=float, default=None, metavar="T",
                    help="rare classes' photos more often (utils.sampling)")  # fmt: skip
    ap.add_argument("--paste-classes", nargs="*", default=None, metavar="CLASS",
                    help="these classes' pixels pasted from the next photo of a batch; alone: "
                    "rider truck bus train motorcycle bicycle (utils.augment)")  # fmt: skip
    ap.add_argument("--max-train", type=int, default=0, dest="max_train_images",
                    help="use at most N training pairs")  # fmt: skip
    ap.add_argument("--max-val", type=int, default=0, dest="max_val_images",
                    help="use at most N validation pairs")  # fmt: skip
    ap.add_argument("--precision", default="auto", dest="mixed_precision",
                    help="auto | off | a Keras dtype policy")  # fmt: skip
    ap.add_argument("--seed", type=int, default=0)


def from_args(args: argparse.Namespace) -> TrainConfig:
    """A checked TrainConfig from parsed arguments (``--plain`` first, explicit flags override);
    a bad value raises ``checks.ParameterError`` naming the field (``epochs=0: ...``)."""
    from utils import augment  # here: the recipe itself needs no TensorFlow (GPU benchmark)

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    for name, alone in (("clean_rims", rims.RIM_CLASSES), ("paste_classes", augment.RARE_THINGS)):
        if overrides.get(name) == []:  # the flag alone: the measured classes
            overrides[name] = alone
    return (TrainConfig.plain(**overrides) if args.plain else TrainConfig(**overrides)).check()
