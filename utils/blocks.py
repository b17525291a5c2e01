"""The UNet's building blocks: 3x3 convolutions (plain or depthwise-separable) with batch norm and
ReLU, the two-convolution block (plain or residual, optionally with squeeze-and-excitation), the
strided convolution of the stem, and PSPNet's pyramid pooling. ``utils.model`` assembles them
into the variants; every layer gets a name from its caller, so that other code (notebooks 05-06)
can find it."""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

from utils.layers import FusedBatchNormalization, ImageMean, RowProfile

BN_MOMENTUM = 0.9  # Keras default 0.99 lags far behind in short runs (a few hundred steps)
# Context at the bridge: pooled over these bins (cells per side), each seen by every cell.
CONTEXT_BINS = {"ppm": (1, 2, 4), "image": (1,)}  # "image": the mean alone, any input size
SE_RATIO = 4  # squeeze-and-excitation: channels of the gate's hidden layer = width / 4
HEIGHT_POOL = 4  # height-driven attention: rows averaged in groups of 4 (HANet's coarse rows)


def pointwise(filters: int, name: str, dense: bool = False, **kwargs) -> layers.Layer:
    """A 1x1 convolution (Keras' ``Conv2D``), or with ``dense`` the same arithmetic as Keras'
    ``Dense`` on the channel axis: one matrix product, a faster kernel on a CPU (model 2's
    training step in 0.91-0.94x the time on one without AVX-512: ``benchmarks/bench_step.py``).
    ``kwargs``: the layer's (``use_bias``, ``activation``, ``dtype``)."""
    if dense:
        return layers.Dense(filters, name=name, **kwargs)
    return layers.Conv2D(filters, 1, name=name, **kwargs)


def conv3(  # noqa: ANN201
    x,  # noqa: ANN001
    filters: int,
    name: str,
    separable: bool = False,
    dilation: int = 1,
    dense: bool = False,
    strides: int = 1,
):
    """``x`` through a 3x3 convolution without bias (batch norm follows) named ``name``, or its
    depthwise-separable form: a depthwise 3x3 then a pointwise 1x1, about 8x fewer
    multiply-adds at 64 channels; with ``dense`` (:func:`pointwise`) the two are separate
    layers, the depthwise one ``{name}_dw``. ``dilation`` 2: its taps 2 cells apart, a 5x5 view
    for the cost of a 3x3 (on this CPU's oneDNN a 5x5 depthwise kernel costs 2.3x model 2's
    step, a dilated 3x3 1.01x)."""
    common = dict(padding="same", strides=strides, dilation_rate=dilation, use_bias=False)
    if separable and dense:
        x = layers.DepthwiseConv2D(3, **common, name=f"{name}_dw")(x)
        return pointwise(filters, name, dense, use_bias=False)(x)
    kind = layers.SeparableConv2D if separable else layers.Conv2D
    return kind(filters, 3, **common, name=name)(x)


def batch_norm(name: str, fused: bool = True, zero: bool = False) -> layers.Layer:
    """Batch norm with the project's momentum: on TensorFlow's fused kernel (the same arithmetic
    as Keras' layer, in 0.74-0.79x model 2's step on this CPU), or Keras' own (``fused=False``);
    ``zero``: its scale starts at 0, so it outputs its offset (0) until training moves it."""
    kind = FusedBatchNormalization if fused else layers.BatchNormalization
    return kind(momentum=BN_MOMENTUM, gamma_initializer="zeros" if zero else "ones", name=name)


def conv_bn_relu(  # noqa: ANN202
    x,  # noqa: ANN001
    filters: int,
    name: str,
    index: int,
    separable: bool = False,
    fused: bool = True,
    dense: bool = False,
):
    """3x3 conv (:func:`conv3`, no bias: batch norm follows) -> batch norm (:func:`batch_norm`)
    -> ReLU."""
    x = conv3(x, filters, f"{name}_conv{index}", separable, dense=dense)
    x = batch_norm(f"{name}_bn{index}", fused)(x)
    return layers.ReLU(name=f"{name}_relu{index}")(x)


def pyramid_pooling(  # noqa: ANN201
    x,  # noqa: ANN001
    name: str = "context",
    bins: Sequence[int] = CONTEXT_BINS["ppm"],
    fused: bool = True,
    dense: bool = False,
):
    """PSPNet's pyramid pooling: average pools over 1x1, 2x2, 4x4 cells, 1x1 conv, upsample, concat.

    Gives every bridge cell the whole image as context (is this road or sidewalk, bus or
    building?) for a few thousand multiply-adds; bins that do not divide the bridge are skipped.
    The 1x1 bin (the image's mean in every cell) takes any size; the others need a known one.
    """
    size, width = x.shape[1], int(x.shape[-1])
    branches = [x]
    for b in bins:
        if b > 1 and size % b:
            continue
        pool = f"{name}_pool{b}"
        y = ImageMean(name=pool)(x) if b == 1 else layers.AveragePooling2D(size // b, name=pool)(x)
        y = pointwise(width // 4, f"{name}_conv{b}", dense, use_bias=False)(y)
        y = batch_norm(f"{name}_bn{b}", fused)(y)
        y = layers.ReLU(name=f"{name}_relu{b}")(y)
        if b > 1:
            y = layers.UpSampling2D(size // b, interpolation="bilinear", name=f"{name}_up{b}")(y)
        branches.append(y)
    y = layers.Concatenate(name=f"{name}_concat")(branches)
    y = pointwise(width, f"{name}_fuse", dense, use_bias=False)(y)
    y = batch_norm(f"{name}_fuse_bn", fused)(y)
    return layers.ReLU(name=name)(y)


def squeeze_excite(x, name: str, ratio: int = SE_RATIO):  # noqa: ANN001, ANN201
    """Squeeze-and-excitation (Hu et al. 2018): every channel of ``x`` scaled by a gate in (0, 1)
    computed from the whole image's mean features (``{name}_se_pool``, a 1x1 conv to
    ``channels // ratio`` + ReLU, a 1x1 conv back + sigmoid): a few hundred multiply-adds per
    channel, whatever the image size."""
    channels = int(x.shape[-1])
    g = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    g = layers.Conv2D(max(channels // ratio, 8), 1, activation="relu", name=f"{name}_se_reduce")(g)
    g = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_se_gate")(g)
    return layers.Multiply(name=f"{name}_se")([x, g])


def height_attention(x, name: str, ratio: int = SE_RATIO):  # noqa: ANN001, ANN201
    """Height-driven attention (HANet, Choi et al. 2020): every channel of every row of ``x``
    scaled by a gate in (0, 1) computed from the rows' mean features and their height in the
    image (``{name}_rows``: :class:`~utils.layers.RowProfile`, averaged over groups of
    ``HEIGHT_POOL`` rows), by two convolutions over 3 rows (to ``channels // ratio`` + ReLU,
    back + sigmoid), then upsampled to every row. Street scenes sort their classes by height
    (sky, building, car, road); a few multiply-adds per row and channel. The input's height
    must be a multiple of ``HEIGHT_POOL``."""
    channels = int(x.shape[-1])
    g = RowProfile(name=f"{name}_rows")(x)
    g = layers.AveragePooling2D((HEIGHT_POOL, 1), name=f"{name}_pool")(g)
    rows = dict(kernel_size=(3, 1), padding="same")  # over 3 neighbouring rows
    hidden = max(channels // ratio, 8)
    g = layers.Conv2D(hidden, **rows, activation="relu", name=f"{name}_reduce")(g)
    g = layers.Conv2D(channels, **rows, activation="sigmoid", name=f"{name}_gate")(g)
    g = layers.UpSampling2D((HEIGHT_POOL, 1), interpolation="bilinear", name=f"{name}_up")(g)
    return layers.Multiply(name=name)([x, g])


def conv_block(  # noqa: ANN202
    x,  # noqa: ANN001
    filters: int,
    name: str,
    residual: bool = False,
    separable: bool = False,
    project: bool = True,
    se: bool = False,
    fused: bool = True,
    dilation: int = 1,
    zero_gamma: bool = False,
    dense: bool = False,
):
    """Two conv+BN+ReLU; residual: a shortcut is added before the last ReLU, a 1x1 projection
    (``project``) or the input itself (its width must be ``filters``); separable:
    depthwise-separable 3x3 convolutions; ``se``: the second conv's channels gated by
    :func:`squeeze_excite` (before the shortcut is added); ``fused``: see :func:`batch_norm`;
    ``dilation``: the second conv's (:func:`conv3`), a wider view for each block;
    ``zero_gamma`` (residual only): the branch's last batch norm starts at scale 0, so the block
    starts as its shortcut (Goyal et al. 2017, "zero-gamma"); ``dense``: the 1x1 convolutions
    as matrix products (:func:`pointwise`).

    The block's output layer is named ``name`` so that other code can find it.
    """
    if not residual:
        x = conv_bn_relu(x, filters, name, 1, separable, fused, dense)
        x = conv3(x, filters, f"{name}_conv2", separable, dilation, dense)
        x = batch_norm(f"{name}_bn2", fused)(x)
        x = squeeze_excite(x, name) if se else x
        return layers.ReLU(name=name)(x)
    if project:
        shortcut = pointwise(filters, f"{name}_proj", dense, use_bias=False)(x)
        shortcut = batch_norm(f"{name}_proj_bn", fused)(shortcut)
    elif int(x.shape[-1]) == filters:
        shortcut = x
    else:
        raise ValueError(f"{name}: an identity shortcut needs {filters} channels in, not "
                         f"{x.shape[-1]}")  # fmt: skip
    y = conv_bn_relu(x, filters, name, 1, separable, fused, dense)
    y = conv3(y, filters, f"{name}_conv2", separable, dilation, dense)
    y = batch_norm(f"{name}_bn2", fused, zero_gamma)(y)
    y = squeeze_excite(y, name) if se else y
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=name)(y)


def strided_conv(  # noqa: ANN202
    x,  # noqa: ANN001
    filters: int,
    name: str,
    separable: bool,
    fused: bool = True,
    dense: bool = False,
):
    """A 3x3 stride-2 conv (:func:`conv3`, ``{name}_conv``) + BN (``{name}_bn``) + ReLU
    (``name``)."""
    x = conv3(x, filters, f"{name}_conv", separable, dense=dense, strides=2)
    x = batch_norm(f"{name}_bn", fused)(x)
    return layers.ReLU(name=name)(x)
