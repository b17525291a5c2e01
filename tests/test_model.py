"""The UNet variants: layer names others rely on, float32 logits, saving and loading a folder."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import blocks, inference, layers, model, runio
from utils.colours import ColourMapping

NAMES = ["encoder_1", "encoder_2", "encoder_3", "encoder_4", "bottleneck"]


@pytest.mark.parametrize(("variant", "bridge"), [("model1", 128), ("model2", 256)])
def test_layer_names_and_shapes(variant: str, bridge: int) -> None:
    net = model.build_unet(7, (64, 32), variant)
    spec = model.SPECS[variant]
    h, w = 64 // spec.stem_stride, 32 // spec.stem_stride  # model 2's stem halves the input
    for i, width in enumerate(spec.widths, start=1):
        shape = (None, h >> (i - 1), w >> (i - 1), width)
        assert net.get_layer(f"encoder_{i}").output.shape == shape
        assert net.get_layer(f"decoder_{i}").output.shape == shape
    assert net.get_layer("bottleneck").output.shape == (None, h // 16, w // 16, bridge)
    assert net.get_layer("logits").output.shape == (None, 64, 32, 7)
    assert net.output.shape == (None, 64, 32, 7)
    assert not isinstance(net.get_layer("logits"), keras.layers.Softmax)
    # model 2's blocks, measured in Semantic_out_2: depthwise-separable, the pointwise half Dense
    separable = any(ly.name == "encoder_1_conv1_dw" for ly in net.layers)
    assert separable == (variant == "model2")
    kind = keras.layers.Dense if separable else keras.layers.Conv2D
    assert isinstance(net.get_layer("encoder_1_conv1"), kind)


def test_model1_follows_the_study() -> None:
    net = model.build_unet(19, (128, 128), "model1")
    convs = [ly for ly in net.layers if isinstance(ly, keras.layers.Conv2D) and ly.name != "logits"]
    assert {ly.kernel_size for ly in convs} == {(3, 3)}  # two 3x3 convs per block, no 1x1 shortcuts
    assert len(convs) == 2 * 9  # 4 encoder + bridge + 4 decoder blocks
    ups = [ly for ly in net.layers if isinstance(ly, keras.layers.UpSampling2D)]
    assert len(ups) == 4 and all(ly.interpolation == "bilinear" for ly in ups)
    assert [net.get_layer(f"encoder_{i}").output.shape[-1] for i in range(1, 5)] == [16, 32, 48, 64]


def test_logits_stay_float32_under_mixed_precision() -> None:
    before = keras.mixed_precision.global_policy().name
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        net = model.build_unet(3, (32, 32), "model2")
        assert net.get_layer("encoder_1").compute_dtype == "bfloat16"
        out = net(np.random.rand(2, 32, 32, 3).astype("float32"))
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy(before)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="100x64 is not divisible by 16"):
        model.build_unet(3, (100, 64))
    with pytest.raises(ValueError, match="not divisible by 32"):
        model.build_unet(3, (48, 48), stem_stride=2)
    with pytest.raises(ValueError, match="full_res=8 needs a stem"):
        model.build_unet(3, (48, 48), full_res=8)
    with pytest.raises(ValueError, match=r"stem_stride must be one of \(1, 2, 4\), got 3"):
        model.build_unet(3, (96, 96), stem_stride=3)
    with pytest.raises(ValueError, match="context"):
        model.build_unet(3, (64, 64), context="aspp")
    with pytest.raises(ValueError, match="head must be one of .*got 'nearest'"):
        model.build_unet(3, (64, 64), stem_stride=2, head="nearest")
    with pytest.raises(ValueError, match="inputs must be one of .*got 'normalised'"):
        model.build_unet(3, (64, 64), inputs="normalised")
    with pytest.raises(ValueError, match="skip must be one of .*got 'sum'"):
        model.build_unet(3, (64, 64), skip="sum")
    with pytest.raises(ValueError, match="attention must be one of .*got 'cbam'"):
        model.build_unet(3, (64, 64), attention="cbam")
    with pytest.raises(ValueError, match=r"dilation must be one of \(1, 2, 3, 4\), got 0"):
        model.build_unet(3, (64, 64), dilation=0)
    with pytest.raises(ValueError, match="unknown variant 'model3'"):
        model.build_unet(3, (64, 64), "model3")


def _model_folder(folder: Path, epochs: int = 2) -> keras.Model:
    """A model folder as training leaves it, with an untrained model."""
    net = model.build_unet(19, (32, 32), "model1", widths=(8, 16), bridge=16)
    config = {
        "variant": "model1",
        "input_size": [32, 32],
        "num_classes": 19,
        "architecture": {"widths": [8, 16], "bridge": 16},
    }
    runio.save_json(config, folder / "config.json")
    ColourMapping.palette().save(folder / "mapping.json")
    net.save(folder / "model.keras")
    for e in range(1, epochs + 1):
        net.save_weights(folder / "epochs" / f"epoch_{e:03d}.weights.h5")
    return net


def test_load_trained_and_epoch(tmp_path: Path) -> None:
    (tmp_path / "epochs").mkdir()
    net = _model_folder(tmp_path)
    x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    loaded, mapping, config = model.load_trained(tmp_path)
    assert mapping.num_classes == 19 and config["input_size"] == [32, 32]
    np.testing.assert_allclose(loaded(x), net(x), atol=1e-5)
    assert model.saved_epochs(tmp_path) == [1, 2]
    np.testing.assert_allclose(model.load_epoch(tmp_path, 2)(x), net(x), atol=1e-5)
    assert model.load_trained(tmp_path / "model.keras")[2]["variant"] == "model1"


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model folder"):
        model.load_trained(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="config.json"):
        model.load_trained(tmp_path)
    (tmp_path / "epochs").mkdir()
    _model_folder(tmp_path)
    (tmp_path / "mapping.json").unlink()
    with pytest.raises(FileNotFoundError, match="mapping.json"):
        model.load_trained(tmp_path)
    with pytest.raises(FileNotFoundError, match="epoch_005.weights.h5.*have epoch_001"):
        model.load_epoch(tmp_path, 5)


@pytest.mark.parametrize(
    "arch",
    [
        dict(stem_stride=2, stem_width=8),
        dict(context="ppm"),
        dict(stem_stride=2, context="ppm", residual=True),
        dict(stem_stride=2, residual=True, separable=True),
        dict(separable=True),
        dict(stem_stride=4, stem_width=8, residual=True, separable=True),
        dict(stem_stride=2, residual=True, separable=True, full_res=4),
        dict(stem_stride=4, stem_width=8, residual=True, separable=True, full_res=4),
        dict(stem_stride=2, residual=True, separable=True, head="shuffle"),
        dict(stem_stride=2, residual=True, separable=True, full_res=4, inputs="standardized"),
        dict(stem_stride=2, residual=True, separable=True, context="image"),
        dict(stem_stride=2, residual=True, separable=True, skip="add"),
        dict(skip="add", upsampling="transpose"),
        dict(stem_stride=2, residual=True, separable=True, attention="se"),
        dict(attention="se"),
        dict(stem_stride=2, residual=True, separable=True, dilation=2),
    ],
)
def test_stem_and_pyramid_pooling_shapes_and_gradients(arch: dict) -> None:
    import tensorflow as tf

    net = model.build_unet(5, (64, 64), "model1", widths=(8, 16), bridge=16, **arch)
    x = tf.random.uniform((2, 64, 64, 3))
    with tf.GradientTape() as tape:
        out = net(x, training=True)
        loss = tf.reduce_mean(tf.square(out))
    assert out.shape == (2, 64, 64, 5) and out.dtype == tf.float32
    grads = tape.gradient(loss, net.trainable_variables)
    assert all(g is not None for g in grads)
    assert all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)
    for name in ("encoder_1", "bottleneck", "decoder_1", "logits"):
        net.get_layer(name)  # the names notebooks 05-06 rely on
    stride = arch.get("stem_stride", 1)
    assert net.get_layer("encoder_1").output.shape[1] == 64 // stride  # half or quarter size
    if stride == 4:  # the refine block joins the half-size stem back in
        assert net.get_layer("refine").output.shape[1:] == (32, 32, 8)
    if arch.get("full_res"):  # class scores at the input size, from the photo's own detail
        assert net.get_layer("refine_full").output.shape[1:] == (64, 64, 4)
        assert net.get_layer("detail_conv1").input.shape[1:] == (64, 64, 3)
    if arch.get("head") == "shuffle":  # 4 scores per class at half size, shuffled to full
        assert net.get_layer("class_scores").output.shape[1:] == (32, 32, 20)
    if arch.get("context") == "ppm":  # the whole bridge's mean, its quarters and sixteenths
        assert net.get_layer("bottleneck_pool2").output.shape[1:3] == (2, 2)
    if arch.get("context"):  # the image's mean, in every cell of the bridge
        assert net.get_layer("bottleneck_pool1").output.shape[1:3] == (64 // stride // 4,) * 2
    if arch.get("skip") == "add":  # the decoder adds its skip: no wider concatenation
        assert net.get_layer("skip_1").output.shape[1:] == (64 // stride, 64 // stride, 8)
    if arch.get("attention") == "se":  # every block's channels gated, from its mean features
        for block in ("encoder_1", "bottleneck", "decoder_1"):
            assert net.get_layer(f"{block}_se_pool").output.shape[1:3] == (1, 1)
    if arch.get("separable"):  # depthwise 3x3 + pointwise 1x1 under the same layer names
        conv = net.get_layer("decoder_1_conv2")
        assert isinstance(conv, keras.layers.SeparableConv2D)
        plain = model.build_unet(5, (64, 64), "model1", widths=(8, 16), bridge=16,
                                 **{**arch, "separable": False})  # fmt: skip
        assert net.count_params() < 0.6 * plain.count_params()


def test_additive_skips_cost_less_and_drop_the_decoder_projections() -> None:
    """``skip="add"``: each residual decoder block gets its skip's width alone, so it needs no
    1x1 projection shortcut (the input is the shortcut), and the 1x1 that brings the coarser
    level to that width works before the upsampling, at a quarter of the pixels."""
    concat = model.build_unet(5, (64, 64), "model2", widths=(8, 16), bridge=16)
    added = model.build_unet(5, (64, 64), "model2", widths=(8, 16), bridge=16, skip="add")
    names = {layer.name for layer in added.layers}
    assert "decoder_1_proj" in {layer.name for layer in concat.layers}
    assert "decoder_1_proj" not in names and "encoder_1_proj" in names
    assert added.get_layer("lateral_1").output.shape[1:] == (16, 16, 8)  # before up_1
    assert added.get_layer("decoder_1_conv1").input.shape[-1] == 8  # 16 + 8 when concatenated
    assert added.count_params() < concat.count_params()
    x = keras.Input((8, 8, 4))
    with pytest.raises(ValueError, match="identity shortcut needs 6 channels in, not 4"):
        blocks.conv_block(x, 6, "block", residual=True, project=False)


def test_squeeze_excite_gates_each_channel_by_the_whole_image(tmp_path: Path) -> None:
    """``attention="se"``: each block's channels are scaled by gates in (0, 1) computed from the
    whole image, so a darkened right half reaches the first block's top-left corner (3x3
    convolutions alone do not); one gate per image and channel; the model saves and loads."""
    rng = np.random.default_rng(0)
    photo = rng.random((1, 64, 64, 3), dtype=np.float32)
    changed = photo.copy()
    changed[:, :, 32:] = 0.0  # a dark right half: other mean features
    for attention in ("none", "se"):
        net = model.build_unet(5, (None, None), "model2", widths=(8, 16), bridge=16,
                               attention=attention)  # fmt: skip
        probe = keras.Model(net.input, net.get_layer("encoder_1").output)
        corner = [np.asarray(probe(p))[0, 0, 0] for p in (photo, changed)]
        moved = float(np.abs(corner[0] - corner[1]).max())
        assert moved > 0 if attention == "se" else moved == 0, (attention, moved)
    gate = keras.Model(net.input, net.get_layer("encoder_1_se_gate").output)
    gates = [np.asarray(gate(p)) for p in (photo, changed)]
    assert gates[0].shape == (1, 1, 1, 8) and 0 < gates[0].min() <= gates[0].max() < 1
    assert np.abs(gates[0] - gates[1]).max() > 1e-4  # untrained gates sit near 0.5
    assert net.count_params() > model.build_unet(5, (64, 64), "model2", widths=(8, 16),
                                                 bridge=16).count_params()  # fmt: skip
    net.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(photo), net(photo),
                               atol=1e-5)  # fmt: skip


def test_pixel_shuffle_puts_each_score_in_its_own_pixel(tmp_path: Path) -> None:
    """Channel (2i + j) * C + c of a half-size cell becomes class c at pixel (i, j) of its 2x2
    block, for any input size, and a saved model with the layer loads back the same."""
    cells = np.arange(2 * 3 * 8, dtype="float32").reshape(1, 2, 3, 8)  # C = 2 classes
    out = np.asarray(layers.PixelShuffle(2)(cells))
    assert out.shape == (1, 4, 6, 2)
    for i, j, c in [(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 1)]:
        np.testing.assert_array_equal(out[0, i::2, j::2, c], cells[0, :, :, (2 * i + j) * 2 + c])
    net = model.build_unet(5, (None, None), "model2", widths=(8, 16), bridge=16, head="shuffle")
    x = np.random.default_rng(0).random((1, 64, 96, 3), dtype=np.float32)
    net.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(x), net(x), atol=1e-5)


def test_any_size_input_for_crop_training() -> None:
    """Built for ``(None, None)``, the UNet takes training crops and whole photos alike."""
    net = model.build_unet(5, (None, None), "model2", widths=(8, 16), bridge=16)
    for size in (32, 64):
        assert net(np.zeros((1, size, size, 3), "float32")).shape == (1, size, size, 5)
    with pytest.raises(ValueError, match="context 'none' or 'image', not 'ppm'"):
        model.build_unet(5, (None, None), "model2", widths=(8, 16), bridge=16, context="ppm")


@pytest.mark.parametrize("separable", [False, True])
def test_dilation_widens_each_blocks_view_at_the_same_cost(separable: bool) -> None:
    """``dilation=2``: a block's second conv takes taps 2 cells apart, so its output cell sees
    7 x 7 input cells rather than 5 x 5 (a change 3 cells away reaches it), with the same
    weights."""
    photo = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    changed = photo.copy()
    changed[0, 16 + 3, 16] += 1.0  # 3 rows below the cell read back
    nets = {}
    for dilation in (1, 2):
        net = model.build_unet(5, (32, 32), "model1", widths=(8,), bridge=8, separable=separable,
                               dilation=dilation)  # fmt: skip
        probe = keras.Model(net.input, net.get_layer("encoder_1").output)
        cell = [np.asarray(probe(p))[0, 16, 16] for p in (photo, changed)]
        assert (np.abs(cell[0] - cell[1]).max() > 1e-6) == (dilation == 2), dilation
        nets[dilation] = net
    assert nets[1].count_params() == nets[2].count_params()
    assert nets[2].get_layer("encoder_1_conv2").dilation_rate == (2, 2)
    assert nets[2].get_layer("encoder_1_conv1").dilation_rate == (1, 1)


def test_zero_gamma_starts_each_residual_block_as_its_shortcut() -> None:
    """``zero_gamma``: every residual branch's last batch norm starts at scale 0, so a block's
    output at initialisation is its shortcut alone (ReLU of the projection); the scale still gets
    a gradient, so the branch joins in with the first step; same parameters as without."""
    photo = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    kw = dict(widths=(8, 16), bridge=16, residual=True, separable=True)
    net = model.build_unet(5, (32, 32), "model1", zero_gamma=True, **kw)
    assert net.count_params() == model.build_unet(5, (32, 32), "model1", **kw).count_params()
    bn2 = net.get_layer("encoder_1_bn2")
    assert np.all(np.asarray(bn2.gamma) == 0.0)
    assert np.all(np.asarray(net.get_layer("encoder_1_bn1").gamma) == 1.0)
    probe = keras.Model(net.input, [net.get_layer(n).output for n in
                                    ("encoder_1", "encoder_1_proj_bn")])  # fmt: skip
    block, shortcut = (np.asarray(t) for t in probe(photo, training=False))
    np.testing.assert_allclose(block, np.maximum(shortcut, 0.0), atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(net(photo, training=True)))
    grad = tape.gradient(loss, bn2.gamma)
    assert float(tf.reduce_max(tf.abs(grad))) > 0.0


def test_image_context_lets_every_cell_see_the_whole_photo(tmp_path: Path) -> None:
    """``context="image"``: a change in one corner of the photo reaches the bottleneck's far
    corner, which the convolutions alone do not reach; any size, and it saves and loads back."""
    rng = np.random.default_rng(0)
    photo = rng.random((1, 128, 128, 3), dtype=np.float32)
    changed = photo.copy()
    changed[:, -16:, -16:] = 1 - changed[:, -16:, -16:]
    for context, reached in (("none", False), ("image", True)):
        # bridge 32: the image-mean branch has 8 channels behind a ReLU; with 4, about one
        # initialisation in six had them all at zero and the corner could not change
        net = model.build_unet(5, (None, None), "model1", widths=(8, 16), bridge=32,
                               context=context)  # fmt: skip
        probe = keras.Model(net.input, net.get_layer("bottleneck").output)
        corner = [np.asarray(probe(p))[0, 0, 0] for p in (photo, changed)]
        assert (np.abs(corner[0] - corner[1]).max() > 1e-6) == reached, context
    for size in ((64, 96), (160, 352)):  # training, and multi-scale TTA's larger photos
        assert net(np.zeros((1, *size, 3), "float32")).shape == (1, *size, 5)
    net.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(photo), net(photo),
                               atol=1e-5)  # fmt: skip


def test_standardized_photos_make_the_model_blind_to_brightness_and_contrast(
    tmp_path: Path,
) -> None:
    """``inputs="standardized"``: each photo is ``tf.image.per_image_standardization``'s, so a
    photo made darker and flatter (a x photo + b: another camera's exposure) gets the same
    logits, also from a saved model and from its any-size twin (multi-scale TTA), and a photo
    of one flat grey stays finite. The scaled default does not have that property."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    photo = rng.random((2, 64, 128, 3), dtype=np.float32)
    np.testing.assert_allclose(
        layers.PhotoStandardization()(photo), tf.image.per_image_standardization(photo), atol=1e-5
    )
    grey = np.full((1, 64, 128, 3), 0.3, np.float32)
    assert np.isfinite(np.asarray(layers.PhotoStandardization()(grey))).all()
    darker_flatter = 0.4 * photo + 0.05
    small = {"widths": (8, 16), "bridge": 16}
    net = model.build_unet(5, (64, 128), "model2", inputs="standardized", **small)
    np.testing.assert_allclose(net(darker_flatter), net(photo), atol=1e-4)
    net.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(darker_flatter), net(photo), atol=1e-4)
    larger = rng.random((1, 96, 192, 3), dtype=np.float32)
    twin = inference.any_size(net, (96, 192))
    np.testing.assert_allclose(twin(0.5 * larger + 0.2), twin(larger), atol=1e-4)
    scaled = model.build_unet(5, (64, 128), "model2", **small)
    assert not np.allclose(scaled(darker_flatter), scaled(photo), atol=1e-4)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_matches_keras_batch_norm(policy: str) -> None:
    """The fused layer is Keras' batch norm on another kernel: the same outputs, gradients and
    moving statistics (population variance, as Keras keeps it) in training, the same outputs in
    inference, and weights that load into either."""
    before = keras.mixed_precision.global_policy().name
    try:
        keras.mixed_precision.set_global_policy(policy)
        rng = np.random.default_rng(0)
        x = rng.normal(2.0, 3.0, (4, 6, 5, 7)).astype("float32")
        ours = layers.FusedBatchNormalization(momentum=0.9)
        theirs = keras.layers.BatchNormalization(momentum=0.9)
        for norm in (ours, theirs):
            norm.build(x.shape)
            norm.gamma.assign(rng.uniform(0.5, 2.0, 7).astype("float32"))
        theirs.set_weights(ours.get_weights())
        tol = 1e-5 if policy == "float32" else 3e-2
        weights = tf.constant(rng.normal(size=x.shape), "float32")  # of the outputs in the loss
        outs, grads = [], []
        for norm in (ours, theirs):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = tf.cast(norm(xt, training=True), "float32")
                loss = tf.reduce_sum(y * weights)
            outs.append(np.asarray(y))
            grads.append([np.asarray(g) for g in tape.gradient(loss, [xt, norm.gamma, norm.beta])])
        np.testing.assert_allclose(outs[0], outs[1], atol=tol)
        for g0, g1 in zip(*grads, strict=True):
            np.testing.assert_allclose(g0, g1, atol=tol * 10, rtol=tol)
        for w0, w1 in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_allclose(w0, w1, rtol=1e-5, atol=1e-6)  # moving statistics too
        assert abs(float(np.asarray(ours.moving_mean)[0]) - 0.1 * x[..., 0].mean()) < 1e-4
        infer = [np.asarray(n(x, training=False), "float32") for n in (ours, theirs)]
        np.testing.assert_allclose(*infer, atol=tol)
    finally:
        keras.mixed_precision.set_global_policy(before)


def test_batch_norm_choice_builds_the_same_model(tmp_path: Path) -> None:
    """``batch_norm="fused"`` (the default) and ``"keras"`` give the same layers and weights, so
    weights trained with one load into the other and predict the same; the fused model saves
    and loads; an unknown choice is named."""
    x = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    small = dict(widths=(8, 16), bridge=16)
    fused = model.build_unet(5, (64, 64), "model2", **small)
    plain = model.build_unet(5, (64, 64), "model2", batch_norm="keras", **small)
    kinds = {type(ly) for ly in fused.layers}
    assert layers.FusedBatchNormalization in kinds
    assert not any(type(ly) is layers.FusedBatchNormalization for ly in plain.layers)
    assert [ly.name for ly in fused.layers] == [ly.name for ly in plain.layers]
    plain.set_weights(fused.get_weights())
    np.testing.assert_allclose(plain(x), fused(x), atol=1e-5)
    fused.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(x), fused(x),
                               atol=1e-5)  # fmt: skip
    with pytest.raises(ValueError, match="batch_norm must be one of"):
        model.build_unet(5, (64, 64), "model2", batch_norm="sync")


def test_dense_pointwise_is_the_same_arithmetic(tmp_path: Path) -> None:
    """``pointwise="dense"`` runs every 1x1 convolution (the separable blocks' second half, the
    shortcuts, the class scores) as a Dense layer on the channel axis: the same parameters, and
    with the 1x1 kernels reshaped the same predictions; it saves and loads; a config recorded
    before the choice existed builds Keras' convolutions; an unknown choice is named."""
    x = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    small = dict(widths=(8, 16), bridge=16, context="ppm")
    conv = model.build_unet(5, (64, 64), "model2", pointwise="conv", **small)
    dense = model.build_unet(5, (64, 64), "model2", pointwise="dense", **small)
    assert conv.count_params() == dense.count_params()
    assert isinstance(dense.get_layer("encoder_1_conv1"), keras.layers.Dense)
    assert isinstance(dense.get_layer("encoder_1_conv1_dw"), keras.layers.DepthwiseConv2D)
    assert isinstance(dense.get_layer("encoder_1_proj"), keras.layers.Dense)
    assert isinstance(dense.get_layer("class_scores"), keras.layers.Dense)
    assert not any(isinstance(ly, keras.layers.SeparableConv2D) for ly in dense.layers)
    ones = [ly for ly in dense.layers if isinstance(ly, keras.layers.Conv2D)]
    assert [ly.name for ly in ones] == ["stem_conv"]  # the stem's 3x3 on the photo stays
    for ly in conv.layers:  # each separable layer is two there: ``{name}_dw`` and ``name``
        split = isinstance(ly, keras.layers.SeparableConv2D)
        targets = [dense.get_layer(f"{ly.name}_dw")] if split else []
        targets.append(dense.get_layer(ly.name))
        weights = [w for t in targets for w in t.get_weights()]
        shaped = [w.reshape(d.shape) for w, d in zip(ly.get_weights(), weights, strict=True)]
        for t in targets:
            t.set_weights(shaped[: len(t.get_weights())])
            shaped = shaped[len(t.get_weights()) :]
    np.testing.assert_allclose(dense(x), conv(x), atol=1e-4)
    dense.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(x), dense(x),
                               atol=1e-5)  # fmt: skip
    old = {"num_classes": 5, "input_size": [64, 64], "variant": "model2", "architecture": small}
    assert isinstance(model.build_from_config(old).get_layer("encoder_1_conv1"),
                      keras.layers.SeparableConv2D)  # fmt: skip
    with pytest.raises(ValueError, match="pointwise must be one of"):
        model.build_unet(5, (64, 64), "model2", pointwise="einsum")


def test_row_profile_gives_each_rows_mean_and_its_height() -> None:
    """``RowProfile``: (B, H, W, C) -> (B, H, 1, C + 1), each row's mean features and its height
    from -1 (top) to 1 (bottom), for any H (multi-scale TTA's photos too)."""
    x = np.random.default_rng(0).random((2, 5, 7, 3), dtype=np.float32)
    out = np.asarray(layers.RowProfile()(x))
    assert out.shape == (2, 5, 1, 4)
    np.testing.assert_allclose(out[..., :3], x.mean(axis=2, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(out[0, :, 0, 3], [-1.0, -0.5, 0.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_array_equal(out[1, ..., 3], out[0, ..., 3])


def test_height_attention_gates_each_row_by_its_content_and_height(tmp_path: Path) -> None:
    """``height_attention``: the last decoder level's channels are scaled row by row by gates in
    (0, 1); two rows of the same features get different gates at different heights, a change
    at a row's far end reaches its first cell (3x3 convolutions alone do not); gradients reach
    the gate; any size; the model saves and loads back."""
    features = keras.Input((16, 8, 6))
    gated = blocks.height_attention(features, "rows")
    net = keras.Model(features, gated)
    gate_net = keras.Model(features, net.get_layer("rows_gate").output)
    same_rows = np.ones((1, 16, 8, 6), np.float32)  # every row alike: only the height differs
    gates = np.asarray(gate_net(same_rows))
    assert gates.shape == (1, 4, 1, 6) and 0 < gates.min() <= gates.max() < 1
    assert np.abs(gates[0, 1] - gates[0, 2]).max() > 1e-4  # inner rows: no padding between
    rng = np.random.default_rng(0)
    photo = rng.random((1, 64, 64, 3), dtype=np.float32)
    changed = photo.copy()
    changed[:, 20:24, 48:] = 0.0  # the far right of four rows
    kw = dict(widths=(8, 16), bridge=16)
    for on in (False, True):
        unet = model.build_unet(5, (None, None), "model1", height_attention=on, **kw)
        out = [np.asarray(unet(p))[0, 21, 0] for p in (photo, changed)]
        assert (np.abs(out[0] - out[1]).max() > 1e-6) == on, on
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(unet(photo, training=True)))
    kernel = unet.get_layer("height_attention_gate").kernel
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, kernel)))) > 0.0
    for size in ((32, 64), (96, 160)):  # small-photo epochs, and multi-scale TTA's larger photos
        assert unet(np.zeros((1, *size, 3), "float32")).shape == (1, *size, 5)
    unet.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras")(photo), unet(photo),
                               atol=1e-5)  # fmt: skip
    with pytest.raises(ValueError, match="height_attention pools rows in groups of 4"):
        model.build_unet(5, (None, None), "model1", widths=(8,), bridge=8, height_attention=True)
