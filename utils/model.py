"""The UNet: two variants, stable layer names, and loading a trained model folder.

Model 1 follows the original study: four encoder blocks of widths 16, 32, 48, 64, a bridge of
128, each block two 3x3 convolutions with batch norm and ReLU, max pooling down, bilinear
upsampling up, skip connections by concatenation, and a 1x1 convolution to class logits.

Model 2 is the default for real data, built for quality per CPU-minute: a strided 3x3 stem
first, so the UNet works at half the input size (class scores are upsampled bilinearly back to
it), then residual blocks (a 1x1 projection shortcut around the two convs) whose 3x3
convolutions are depthwise-separable (a depthwise 3x3, then a pointwise 1x1), of widths 48, 64,
96, 128 and a bridge of 256 with spatial dropout. On the project's 2-core CPU the stem cut a
step to a third of the same blocks at full size, and the separable blocks buy the wider widths
for less time than plain ones at 32-96 (0.45 M parameters against 1.46 M): more epochs fit a
35-minute budget, and that wins (``benchmarks/bench_time_to_quality.py``; the README of
``Semantic_out_2/``). Its 1x1 convolutions (the pointwise halves, the shortcuts, the class
scores) run as Keras ``Dense`` layers on the channel axis (``pointwise="dense"``): the same
arithmetic and parameters, in 0.91-0.94x the step on a CPU without AVX-512. ``UNetSpec`` also
offers, measured and left as options: pyramid pooling at
the bridge (or the image's mean alone), a stride-4 stem for 256 px input, a refine block at the
input size (``full_res``), a pixel-shuffle head (``head``), photos standardized one by one
(``inputs``; the custom layers are in ``utils.layers``, the blocks in ``utils.blocks``),
a first layer that brings photos of tones (and colour balances: ``colour_guard``) no training
photo had back within them (``tone_guard``, both on for model 2: ``utils.tone``),
additive skips (``skip``), squeeze-and-excitation (``attention``) and height-driven attention
before the class scores (``height_attention``). Every batch norm runs
on TensorFlow's fused kernel (``batch_norm="fused"``, ``utils.layers.FusedBatchNormalization``):
Keras 3's own layer, the same arithmetic, took 39 % of model 2's step. Built for input size
``(None, None)``, a UNet takes any multiple of ``input_divisor`` (training on crops, scoring
whole photos).

Layer names other code relies on (notebooks 05-06): ``encoder_1`` .. ``encoder_{depth}`` (block
output before pooling), ``bottleneck`` (bridge output), ``decoder_1`` .. ``decoder_{depth}``
(``decoder_i`` works at the resolution of ``encoder_i``, so ``decoder_{depth}`` comes right after
the bottleneck and ``decoder_1`` is the last), and ``logits`` (float32 logits, no softmax).

A trained model lives in ``RUN_DIR/models/<variant>/``: ``model.keras`` (best epoch by validation
mIoU), ``config.json``, ``mapping.json``, ``history.csv``/``history.json``,
``epochs/epoch_NNN.weights.h5`` for every epoch, ``tensorboard/`` and ``backup/``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
from keras import layers

from utils import runio
from utils.blocks import (
    CONTEXT_BINS,
    HEIGHT_POOL,
    batch_norm,
    conv_block,
    conv_bn_relu,
    height_attention,
    pointwise,
    pyramid_pooling,
    strided_conv,
)
from utils.colours import ColourMapping
from utils.layers import PhotoStandardization, PixelShuffle
from utils.tone import ToneGuard

VARIANTS = ("model1", "model2")
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
MAPPING_FILE = "mapping.json"
EPOCHS_DIR = "epochs"
TONE_GUARD = "tone_guard"  # the layer's name (``UNetSpec.tone_guard``)
EPOCH_WEIGHTS = "epoch_{epoch:03d}.weights.h5"  # Keras formats {epoch} counting from 1
CONTEXTS = ("none", *CONTEXT_BINS)
HEADS = ("bilinear", "shuffle")
SKIPS = ("concat", "add")
INPUTS = ("scaled", "standardized")
ATTENTIONS = ("none", "se")
BATCH_NORMS = ("fused", "keras")
POINTWISES = ("conv", "dense")
# every UNetSpec field with a fixed set of choices, and those choices (``check_spec``)
# fmt: off
CHOICES = {"context": CONTEXTS, "stem_stride": (1, 2, 4), "inputs": INPUTS, "skip": SKIPS,
           "attention": ATTENTIONS, "batch_norm": BATCH_NORMS, "pointwise": POINTWISES,
           "head": HEADS, "upsampling": ("bilinear", "transpose"), "dilation": (1, 2, 3, 4)}
# fmt: on


@dataclass(frozen=True)
class UNetSpec:
    """Architecture of one variant: encoder widths, bridge width, block type and extras."""

    widths: tuple[int, ...]
    bridge: int
    residual: bool = False
    dropout: float = 0.0  # spatial dropout rate in the bridge
    upsampling: str = "bilinear"  # "bilinear" (UpSampling2D) or "transpose" (Conv2DTranspose)
    stem_stride: int = 1  # 2: a strided 3x3 conv first, the UNet runs at half the input size;
    # 4: a second, separable strided conv after it (quarter size), and a ``refine`` block at half
    # size that joins the first stem conv's output back in before the class scores
    stem_width: int = 0  # channels of the first stem conv (0: the first encoder width)
    context: str = "none"  # "ppm": pyramid pooling (bins 1, 2, 4) at the bridge; "image": the
    # image's mean alone (ParseNet, DeepLabv3's image pooling), for inputs of any size
    separable: bool = False  # 3x3 convs of the blocks as depthwise 3x3 + pointwise 1x1
    full_res: int = 0  # > 0 (with a stem): a 3x3 conv of the photo of this width (``detail``),
    # joined to the decoder's output upsampled to the input size by a ``refine_full`` block of
    # this width, whose class scores are then the logits (no upsampling of the scores)
    head: str = "bilinear"  # a stem's half-size class scores to the input size: "bilinear", or
    # "shuffle": 4 scores per class and cell, one per pixel of its 2x2 block (DUC, Wang 2018)
    inputs: str = "scaled"  # the photo as given (0-1), or "standardized": each photo to mean 0,
    # standard deviation 1 (``utils.layers.PhotoStandardization``: brightness and contrast out)
    skip: str = "concat"  # how a decoder level joins its encoder's features: "concat" (UNet), or
    # "add" (LinkNet, FPN): a 1x1 conv to the skip's width at the coarser level, upsample, add;
    # the decoder block then works on the skip's width alone, with an identity shortcut
    attention: str = "none"  # "se": squeeze-and-excitation in every block (``utils.blocks``):
    # each channel gated by the image's mean features, for a few multiply-adds per channel
    dilation: int = 1  # 2: the second conv of every block dilated (taps 2 cells apart): each
    # block sees 7 x 7 cells rather than 5 x 5, for the same multiply-adds (DRN, ESPNet)
    batch_norm: str = "fused"  # "fused": TensorFlow's fused kernel (``utils.layers``), the same
    # arithmetic as "keras", Keras' own layer, in 0.74-0.79x model 2's step on this CPU
    zero_gamma: bool = False  # residual blocks: the branch's last batch norm starts at scale 0,
    # so every block starts as its shortcut and the network as a shallow one (Goyal et al. 2017)
    tone_guard: bool = False  # a first layer that brings photos darker, brighter or flatter than
    # any trained on back within the training photos' tones, at inference (``utils.tone``)
    colour_guard: bool = False  # the tone guard also brings back photos whose colour balance
    # (white balance) lies outside the training photos'
    height_attention: bool = False  # the last decoder level's channels gated row by row from
    # the rows' mean features and their height in the image (HANet; ``utils.blocks``)
    pointwise: str = "conv"  # the 1x1 convolutions (separable blocks' second half, shortcuts,
    # class scores): "conv" (Keras' Conv2D, SeparableConv2D), or "dense": the same arithmetic as
    # Dense layers on the channel axis, a faster kernel on this CPU (``utils.blocks.pointwise``)

    @property
    def fused_bn(self) -> bool:
        """Whether the batch norms run on TensorFlow's fused kernel (``batch_norm="fused"``)."""
        return self.batch_norm == "fused"

    @property
    def dense(self) -> bool:
        """Whether the 1x1 convolutions run as matrix products (``pointwise="dense"``)."""
        return self.pointwise == "dense"


SPECS = {
    "model1": UNetSpec(widths=(16, 32, 48, 64), bridge=128),
    "model2": UNetSpec(
        widths=(48, 64, 96, 128),
        bridge=256,
        residual=True,
        dropout=0.1,
        stem_stride=2,
        separable=True,
        pointwise="dense",
        tone_guard=True,
        colour_guard=True,
    ),
}
# Model 2 before the strided stem (the GPU 256 px run and earlier results were measured with it).
FULL_SIZE_MODEL2 = {"stem_stride": 1, "widths": (24, 48, 72, 96), "bridge": 192, "separable": False}
# Model 2 before depthwise-separable blocks: plain 3x3 convolutions at narrower widths.
STANDARD_MODEL2 = {"separable": False, "widths": (32, 48, 72, 96), "bridge": 192}


def input_divisor(spec: UNetSpec) -> int:
    """What the input height and width must be multiples of: the stem stride x 2**depth."""
    return spec.stem_stride * 2 ** len(spec.widths)


def check_spec(spec: UNetSpec) -> UNetSpec:
    """``spec`` if its choices are ones ``build_unet`` knows, else a ``ValueError`` naming them."""
    for field, allowed in CHOICES.items():
        if getattr(spec, field) not in allowed:
            raise ValueError(f"{field} must be one of {allowed}, got {getattr(spec, field)!r}")
    if spec.full_res and spec.stem_stride == 1:
        raise ValueError(f"full_res={spec.full_res} needs a stem (stem_stride 2 or 4)")
    if spec.colour_guard and not spec.tone_guard:
        raise ValueError("colour_guard=True needs tone_guard=True (the colour is in its layer)")
    if spec.height_attention and 2 ** len(spec.widths) % HEIGHT_POOL:
        raise ValueError(f"height_attention pools rows in groups of {HEIGHT_POOL}: it needs at "
                         f"least 2 encoder levels, got widths {spec.widths}")  # fmt: skip
    if not spec.widths or min(spec.widths) < 1 or spec.bridge < 1:
        raise ValueError(f"widths and bridge must be positive, got {spec.widths}, {spec.bridge}")
    return spec


def spec_for(variant: str, **overrides) -> UNetSpec:
    """The spec of a named variant, with any field overridden (e.g. ``widths=(8, 16)``)."""
    if variant not in SPECS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    fields = {**asdict(SPECS[variant]), **{k: v for k, v in overrides.items() if v is not None}}
    fields["widths"] = tuple(int(w) for w in fields["widths"])
    return UNetSpec(**fields)


def _stem(x, spec: UNetSpec):  # noqa: ANN001, ANN202
    """The strided stem: a 3x3 stride-2 conv + BN + ReLU (``stem``, half size); for a stride of
    4, then a separable one to the first encoder width (``stem_2``, quarter size). Returns
    (the stem's output, the half-size output)."""
    half = x = strided_conv(x, spec.stem_width or spec.widths[0], "stem", False, spec.fused_bn)
    if spec.stem_stride == 4:
        x = strided_conv(x, spec.widths[0], "stem_2", True, spec.fused_bn, spec.dense)
    return x, half


def _block(x, width: int, name: str, spec: UNetSpec, project: bool = True):  # noqa: ANN001, ANN202
    """``conv_block`` with the spec's choices: residual, separable, squeeze-and-excitation,
    batch norm, dilation, zero-gamma, pointwise kernels."""
    se = spec.attention == "se"
    return conv_block(
        x, width, name, spec.residual, spec.separable, project, se, spec.fused_bn, spec.dilation,
        spec.zero_gamma, spec.dense,
    )  # fmt: skip


def _up_and_join(x, skip, i: int, spec: UNetSpec):  # noqa: ANN001, ANN202
    """Decoder level ``i``: ``x`` upsampled 2x (``up_{i}``) and joined to its encoder's ``skip``
    (``skip_{i}``): concatenated, or for ``skip="add"`` first brought to the skip's width by a
    1x1 conv + BN at the coarser level (``lateral_{i}``), where it costs a quarter, then added."""
    width = int(skip.shape[-1])
    if spec.upsampling == "transpose":
        x = layers.Conv2DTranspose(width, 2, strides=2, name=f"up_{i}")(x)
    else:
        if spec.skip == "add":
            x = pointwise(width, f"lateral_{i}", spec.dense, use_bias=False)(x)
            x = batch_norm(f"lateral_{i}_bn", spec.fused_bn)(x)
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up_{i}")(x)
    join = layers.Add if spec.skip == "add" else layers.Concatenate
    return join(name=f"skip_{i}")([x, skip])


def tone_guard_of(net: keras.Model) -> ToneGuard | None:
    """The model's :class:`~utils.tone.ToneGuard` layer, or None (model 1, older models)."""
    found = [layer for layer in net.layers if isinstance(layer, ToneGuard)]
    return found[0] if found else None


def build_unet(
    num_classes: int, input_size: Sequence[int] = (128, 128), variant: str = "model1", **overrides
) -> keras.Model:
    """A functional UNet: float32 photos in [0, 1] (B, H, W, 3) -> float32 logits (B, H, W, C).

    ``variant`` picks the defaults ("model1" or "model2"); keyword arguments override any
    ``UNetSpec`` field (e.g. ``widths=(8, 16)``, ``stem_stride=2``). H and W must be divisible
    by ``input_divisor``; ``(None, None)`` accepts any such size (training on crops, evaluating
    on whole photos).
    """
    spec = check_spec(spec_for(variant, **overrides))
    h, w = (None if s is None else int(s) for s in input_size)
    depth = len(spec.widths)
    factor = input_divisor(spec)
    if (h is None) != (w is None) or (h is None and max(CONTEXT_BINS.get(spec.context, [1])) > 1):
        raise ValueError(f"input size (None, None) needs context 'none' or 'image', not "
                         f"{spec.context!r} (its pooling needs a size)")  # fmt: skip
    if h is not None and (h % factor or w % factor):
        raise ValueError(f"input size {h}x{w} is not divisible by {factor} (stem and encoder)")
    photos = keras.Input((h, w, 3), name="photo")
    guard = ToneGuard(colour=spec.colour_guard, name=TONE_GUARD) if spec.tone_guard else None
    photo = guard(photos) if guard else photos
    photo = photo if spec.inputs == "scaled" else PhotoStandardization(name="standardized")(photo)
    x = photo
    if spec.stem_stride > 1:
        x, half = _stem(x, spec)
    skips = []
    for i, width in enumerate(spec.widths, start=1):
        x = _block(x, width, f"encoder_{i}", spec)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    if spec.dropout:
        x = layers.SpatialDropout2D(spec.dropout, name="bridge_dropout")(x)
    if spec.context != "none":
        x = _block(x, spec.bridge, "bridge", spec)
        x = pyramid_pooling(x, "bottleneck", CONTEXT_BINS[spec.context], spec.fused_bn, spec.dense)
    else:
        x = _block(x, spec.bridge, "bottleneck", spec)
    for i in range(depth, 0, -1):
        x = _up_and_join(x, skips[i - 1], i, spec)
        project = spec.skip != "add"  # an added skip is already the block's width
        width = spec.widths[i - 1]
        x = _block(x, width, f"decoder_{i}", spec, project)
    if spec.height_attention:
        x = height_attention(x, "height_attention")
    if spec.stem_stride == 4:  # back to half size, with the first stem conv's detail
        x = layers.UpSampling2D(2, interpolation="bilinear", name="up_refine")(x)
        x = layers.Concatenate(name="skip_refine")([x, half])
        x = _block(x, int(half.shape[-1]), "refine", spec)
    if spec.full_res:  # back to the input size, with a full-resolution view of the photo
        detail = conv_bn_relu(photo, spec.full_res, "detail", 1, fused=spec.fused_bn,
                              dense=spec.dense)  # fmt: skip
        x = layers.UpSampling2D(2, interpolation="bilinear", name="up_full")(x)
        x = layers.Concatenate(name="skip_full")([x, detail])
        x = _block(x, spec.full_res, "refine_full", spec)
    # Logits stay float32 under mixed precision: losses and argmax need the full range.
    if spec.stem_stride == 1 or spec.full_res:
        logits = pointwise(num_classes, "logits", spec.dense, dtype="float32")(x)
    elif spec.head == "shuffle":  # a learnt 2x2 block of scores per half-size cell
        x = pointwise(4 * num_classes, "class_scores", spec.dense, dtype="float32")(x)
        logits = PixelShuffle(2, name="logits", dtype="float32")(x)
    else:  # class scores at half size, bilinearly upsampled to the input size
        x = pointwise(num_classes, "class_scores", spec.dense, dtype="float32")(x)
        logits = layers.UpSampling2D(2, interpolation="bilinear", name="logits", dtype="float32")(x)
    return keras.Model(photos, logits, name=f"unet_{variant}")


# --------------------------------------------------------------------------- trained models
def _need(path: Path, what: str) -> Path:
    """``path`` if it is a file, else an error naming it and what it should hold."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, expected the {what} file")
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} not found")
    return path


def model_dir_of(model: str | os.PathLike) -> Path:
    """The model folder, given the folder itself or its ``model.keras``."""
    path = Path(model)
    if path.is_file() and path.suffix == ".keras":
        return path.parent
    if path.is_file():
        raise NotADirectoryError(f"{path}: is a file; give the model folder or its {MODEL_FILE}")
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: model folder (RUN_DIR/models/<variant>/) not found")
    return path


def best_model_dir(run_dir: str | os.PathLike) -> Path:
    """The trained model folder of a run: the only one, or the best by validation mIoU.

    Notebooks 05 and 06 use it when ``MODEL_DIR`` is empty, so they work whether notebook 03
    trained model 1, model 2 or both.
    """
    found = [runio.model_dir(run_dir, v) for v in VARIANTS]
    found = [d for d in found if (d / MODEL_FILE).is_file()]
    if not found:
        raise FileNotFoundError(
            f"{runio.model_dir(run_dir, '<variant>')}: no trained model in this run folder "
            "(run notebook 03 first, or set MODEL_DIR)"
        )

    def score(folder: Path) -> float:
        path = folder / "val_metrics.json"
        return runio.load_json(path).get("mean_iou", -1.0) if path.is_file() else -1.0

    return max(found, key=score)


def load_config(model_dir: str | os.PathLike) -> dict:
    """The ``config.json`` of a model folder."""
    folder = model_dir_of(model_dir)
    return runio.load_json(_need(folder / CONFIG_FILE, "model config (config.json)"))


def load_trained(model_dir: str | os.PathLike) -> tuple[keras.Model, ColourMapping, dict]:
    """(model with the best weights, its colour mapping, its config) from a model folder."""
    folder = model_dir_of(model_dir)
    config = load_config(folder)
    mapping = ColourMapping.load(_need(folder / MAPPING_FILE, "colour mapping (mapping.json)"))
    path = _need(folder / MODEL_FILE, "trained model")
    try:  # Keras says "File not found" for a broken zip and KeyError for a zip of other things
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - any failure here means the same to the user
        raise ValueError(f"{path}: not a readable Keras model ({type(e).__name__})") from e
    return model, mapping, config


def build_from_config(config: dict) -> keras.Model:
    """An untrained model with the architecture recorded in a config dict (one recorded before
    the tone guard (its colour limits) existed has none: its weights files hold no limits;
    one recorded before ``pointwise`` existed has Keras' 1x1 convolutions)."""
    arch = {"tone_guard": False, "colour_guard": False, "pointwise": "conv",
            **config.get("architecture", {})}  # fmt: skip
    return build_unet(config["num_classes"], config["input_size"], config["variant"], **arch)


def load_epoch(model_dir: str | os.PathLike, epoch: int) -> keras.Model:
    """The model as it was after ``epoch`` (from 1): ``epochs/epoch_NNN.weights.h5``."""
    folder = model_dir_of(model_dir)
    weights = folder / EPOCHS_DIR / EPOCH_WEIGHTS.format(epoch=epoch)
    if not weights.is_file():
        have = sorted(p.name for p in (folder / EPOCHS_DIR).glob("epoch_*.weights.h5"))
        raise FileNotFoundError(
            f"{weights}: no weights for epoch {epoch} (have {', '.join(have) or 'none'})"
        )
    model = build_from_config(load_config(folder))
    try:
        model.load_weights(weights)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file, or other shapes
        raise ValueError(f"{weights}: not readable weights for this model ({e})") from e
    return model


def saved_epochs(model_dir: str | os.PathLike) -> list[int]:
    """Epoch numbers (from 1) that have saved weights in the model folder."""
    folder = model_dir_of(model_dir) / EPOCHS_DIR
    return sorted(
        int(p.name.split("_")[1].split(".")[0]) for p in folder.glob("epoch_*.weights.h5")
    )
