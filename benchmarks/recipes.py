"""The named training recipes of the benchmarks, each measured on the real train split.

A recipe is a dict of ``utils.config.TrainConfig`` fields. ``bench_time_to_quality.py`` and
``bench_step.py`` take their names (``--recipes``); the comment above each says what it changes
and why, and ``Semantic_out_2/README.md`` what it measured. ``DEFAULT_RECIPE`` is the one the
README's real-data command trains (a test holds the two together). New recipes go at the end,
one change from a measured one, so that the history of what was tried reads in order.
"""

from __future__ import annotations

from utils import model
from utils.augment import RARE_THINGS
from utils.rims import RIM_CLASSES

# The strided stem + pyramid pooling UNet tried against model 2 (see Semantic_out_2/README.md).
STEM_ARCH = dict(
    widths=(32, 64, 96, 128),
    bridge=192,
    residual=True,
    dropout=0.1,
    stem_stride=2,
    stem_width=24,
    context="ppm",
    separable=False,
)

# Screened on a GPU (benchmarks/gpu_256.py screen): residual blocks behind a strided stem, so the
# UNet runs at half the input size (a third of the full-size model 2's step time on the 2-core
# CPU: 18 epochs in the budget of 6), with twice the peak learning rate. Model 2 since then.
FAST_ARCH = dict(stem_stride=2, widths=(32, 48, 72, 96), bridge=192, separable=False)

# twice the channels in the two deepest levels and the bridge (the ``*_deep*`` recipes)
DEEP_LEVELS = {"widths": (48, 64, 128, 192), "bridge": 384}
# a narrower first level (its cells are the costliest) paying for the wider deep levels
NARROW_FIRST = {"widths": (32, 64, 128, 192), "bridge": 384}
# model 2 on photos in the street's proportions at 96 x 192 (the ``wide96*`` recipes)
WIDE96 = dict(variant="model2", image_size=96, image_width=192)
IMAGE_CONTEXT = {"context": "image"}  # every bridge cell sees the whole image's mean
NO_DROPOUT = {"dropout": 0.0}

RECIPES: dict[str, dict] = {
    "default": dict(variant="model2", image_size=128),  # model 2 and the default recipe
    # model 2 and its peak learning rate before the strided stem (the default until then)
    "previous": dict(
        variant="model2",
        architecture=model.FULL_SIZE_MODEL2,
        image_size=128,
        learning_rate=2e-3,
        batch_size=16,
    ),
    "fast128": dict(
        variant="model2", architecture=FAST_ARCH, image_size=128, learning_rate=4e-3, batch_size=16
    ),
    # model 2 before separable blocks (the default until then), and on its earlier batch of 16
    "standard": dict(variant="model2", image_size=128, architecture=model.STANDARD_MODEL2),
    "batch16": dict(
        variant="model2", image_size=128, batch_size=16, architecture=model.STANDARD_MODEL2
    ),
    "model1": dict(variant="model1", image_size=128),
    "stem128": dict(variant="model2", architecture=STEM_ARCH, image_size=128),
    "stem192": dict(variant="model2", architecture=STEM_ARCH, image_size=192),
    "stem128_full": dict(variant="model2", architecture=STEM_ARCH, image_size=128, augment="full"),
    "stem256": dict(variant="model2", architecture=STEM_ARCH, image_size=256),
    # model 2 trained on random-scale 128 px crops of 256 / 192 px photos, evaluated whole there
    "crop256": dict(variant="model2", image_size=256, crop_size=128),
    "crop192": dict(variant="model2", image_size=192, crop_size=128),
    "crop256_full": dict(variant="model2", image_size=256, crop_size=128, augment="full"),
    "batch8": dict(
        variant="model2", image_size=128, batch_size=8, architecture=model.STANDARD_MODEL2
    ),
    # losses for thin and rare classes (utils.losses), on top of the default's CE + Dice
    "lovasz": dict(variant="model2", image_size=128, lovasz_weight=1.0),
    "hard25": dict(variant="model2", image_size=128, hard_pixels=0.25),
    # depthwise-separable 3x3 convolutions at model 2's earlier widths (model 2 since is wider)
    "separable": dict(
        variant="model2",
        image_size=128,
        architecture=model.STANDARD_MODEL2 | {"separable": True},
    ),
    "separable_wide": dict(variant="model2", image_size=128),  # = default: model 2 since
    # the separable model 2 at twice its peak learning rate (tuned on the plain blocks)
    "lr8e3": dict(variant="model2", image_size=128, learning_rate=8e-3),
    # median-frequency class weights (stronger for rare classes) instead of inverse sqrt frequency
    "median_weights": dict(variant="model2", image_size=128, class_weights="median"),
    "seed1": dict(variant="model2", image_size=128, seed=1),  # the default on another seed
    # the separable model 2 on batches of 16 (batches of 8 won on the plain blocks)
    "sep_batch16": dict(variant="model2", image_size=128, batch_size=16),
    # whole 256 px photos through a stride-4 stem: the blocks work at the default's 64 px, the
    # stem and a refine block at 128 px see the labels' own detail
    "s4_256": dict(
        variant="model2", image_size=256, architecture=dict(stem_stride=4, stem_width=24)
    ),
    "s4_256_w16": dict(
        variant="model2", image_size=256, architecture=dict(stem_stride=4, stem_width=16)
    ),
    "sep_batch4": dict(variant="model2", image_size=128, batch_size=4),
    # the default as it was before its budget clock could lengthen a run: the timed plan, only
    # ever shortened
    "fixed_plan": dict(variant="model2", image_size=128, budget_stretch=1.0),
    # class scores at the input size: a 16-channel view of the photo joined to the upsampled
    # decoder by a refine block (the full-size model 2 learnt about 0.03 more per epoch than
    # today's, whose scores are upsampled from half size)
    "full_res16": dict(variant="model2", image_size=128, architecture={"full_res": 16}),
    # the training labels without the thin rims that JPEG blur paints in truck, bus, train and
    # wall colours between other regions (utils.rims)
    "rims": dict(variant="model2", image_size=128, clean_rims=RIM_CLASSES),
    # the same for the vehicles only: the model scores wall rims (sky and building edges) as wall
    "rims_vehicles": dict(variant="model2", image_size=128, clean_rims=("truck", "bus", "train")),
    # class scores brought to the input size by a learnt pixel shuffle (4 scores per class and
    # half-size cell) instead of bilinear upsampling
    "shuffle": dict(variant="model2", image_size=128, architecture={"head": "shuffle"}),
    # photos in the street's own proportions (2:1, as the camera took them; the pair files
    # squeeze them to 1:1): 96 x 192 px, 1.125x the pixels of 128 x 128 and 1.5x the width
    "wide96": dict(WIDE96),  # a copy: the Dice weight below is set on each recipe
    # the real-data default before weight decay (plain Adam), as every earlier recipe ran
    "wide96_adam": {**WIDE96, "weight_decay": 0.0},
    # photos holding rare classes (train, motorcycle, rider, bus) more often (utils.sampling)
    "wide96_rfs": {**WIDE96, "rare_repeat": 0.1},
    # twice the channels in the two deepest levels and the bridge (3 x 6 cells at 96 x 192),
    # where they cost least: 1.11-1.19x the step, 1.9x the parameters (measured: Semantic_out_2)
    "wide96_deep": {**WIDE96, "architecture": DEEP_LEVELS},
    # decoupled weight decay (AdamW) on the kernels: regularisation for a run whose held-out
    # loss stops falling after 12 of its 16 epochs while the training loss still falls
    "wide96_wd": {**WIDE96, "weight_decay": 0.05},
    # the wider deep levels paid for by a narrower first level (48 x 96 cells, the costliest)
    "wide96_narrow": {**WIDE96, "architecture": NARROW_FIRST},
    # the default at two thirds of its height and width (0.44x the pixels): the early phase of
    # progressive resizing
    "wide64": dict(variant="model2", image_size=64, image_width=128),
    # progressive resizing (utils.progressive): the first 40 % of the epochs on 64 x 128 photos
    # (0.47x the step), the rest at 96 x 192: --epochs 20 costs about the default's 16
    "wide96_prog": {**WIDE96, "early_share": 0.4},
    # the wider deep levels (1.11-1.19x the step) paid for by progressive resizing: 8 epochs
    # at 64 x 128, then 10 at 96 x 192; --epochs 18 costs about the default's 16
    "wide96_deep_prog": {**WIDE96, "architecture": DEEP_LEVELS, "early_share": 0.45},
    # the early phase of wide96_deep_prog (for its step cost: bench_step.py)
    "wide64_deep": dict(
        variant="model2",
        image_size=64,
        image_width=128,
        architecture=DEEP_LEVELS,
    ),
    # the real-data default on another seed (weights, data order, augmentation): the spread
    "wide96_seed1": {**WIDE96, "seed": 1},
    # twice the default's weight decay (0.05 was taken from ConvNeXt, not tuned)
    "wide96_wd01": {**WIDE96, "weight_decay": 0.1},
    # the narrower first level with the default's weight decay, for the epochs its 0.83x step
    # affords in the default's compute (--epochs 19 against the default's 16); the same as
    # wide96_narrow since weight decay became model 2's default, kept by the name it ran under
    "wide96_narrow_wd": {**WIDE96, "architecture": NARROW_FIRST},
}
# second seeds
RECIPES["wide96_deep_prog_seed1"] = {**RECIPES["wide96_deep_prog"], "seed": 1}
RECIPES["wide96_prog_seed1"] = {**RECIPES["wide96_prog"], "seed": 1}
# progressive resizing with photos of rare classes more often (the README's recipe + sampling)
RECIPES["wide96_prog_rfs"] = {**RECIPES["wide96_prog"], "rare_repeat": 0.1}
# progressive resizing with each photo standardized in the model (utils.layers): brightness and
# contrast of other cameras divided out
RECIPES["wide96_prog_std"] = {**RECIPES["wide96_prog"], "architecture": {"inputs": "standardized"}}
# plain 3x3 convolutions instead of depthwise-separable ones (an AVX-512 CPU runs dense
# convolutions faster per FLOP than depthwise ones)
RECIPES["wide96_plain"] = {**RECIPES["wide96"], "architecture": {"separable": False}}
# the README's recipe with twice the channels in the two deepest levels and the bridge (on an
# AVX-512 CPU they cost 1.02-1.07x the step, against 1.11-1.19x on an AVX2 one)
RECIPES["wide96_prog_deep"] = {**RECIPES["wide96_prog"], "architecture": DEEP_LEVELS}
# the README's recipe in float32 where ``auto`` would pick mixed bfloat16 (CPUs with AVX512-BF16)
RECIPES["wide96_prog_f32"] = {**RECIPES["wide96_prog"], "mixed_precision": "off"}
# photos at 128 x 256 (the pair files' own height, 1.78x the pixels of 96 x 192)
RECIPES["wide128"] = dict(variant="model2", image_size=128, image_width=256)
# progressive resizing to 128 x 256: the first 40 % of the epochs at 64 x 128 (half the size)
RECIPES["wide128_prog"] = {**RECIPES["wide128"], "early_share": 0.4, "early_scale": 0.5}
# the same with a random zoom (U(1, 1.5) on half the photos) before the photometric change
RECIPES["wide128_prog_zoom"] = {**RECIPES["wide128_prog"], "augment": "photo_zoom"}
# the default with its small-photo epochs at 96 x 192 (3/4 of the size) rather than 64 x 128
RECIPES["wide128_prog96"] = {**RECIPES["wide128_prog_zoom"], "early_scale": 0.75}
# photos at 160 x 320 (1.56x the pixels of 128 x 256), the first 40 % of the epochs at 64 x 128
RECIPES["wide160_prog_zoom"] = {
    **RECIPES["wide128_prog_zoom"],
    "image_size": 160,
    "image_width": 320,
    "early_scale": 0.4,
}
# the default with the riders' and rare vehicles' pixels pasted from the next photo of each batch
RECIPES["wide128_prog_zoom_paste"] = {**RECIPES["wide128_prog_zoom"], "paste_classes": RARE_THINGS}
# the default on another seed (its initial weights, data order and augmentation draws): the spread
RECIPES["wide128_prog_zoom_seed1"] = {**RECIPES["wide128_prog_zoom"], "seed": 1}
# the default with 60 % of its epochs at 64 x 128 rather than 40 %: more, cheaper epochs
RECIPES["wide128_prog60_zoom"] = {**RECIPES["wide128_prog_zoom"], "early_share": 0.6}
# the default with the image's mean features joined to every bridge cell (ParseNet's context)
RECIPES["wide128_prog_zoom_image"] = {**RECIPES["wide128_prog_zoom"], "architecture": IMAGE_CONTEXT}
# the default without the bridge's spatial dropout (it does not overfit: train 0.46, held out 0.44)
RECIPES["wide128_prog_zoom_nodrop"] = {**RECIPES["wide128_prog_zoom"], "architecture": NO_DROPOUT}
# the default with a stronger zoom: half the photos zoomed by U(1, 2) rather than U(1, 1.5)
RECIPES["wide128_prog_zoom2"] = {**RECIPES["wide128_prog_zoom"], "max_zoom": 2.0}
# the default with half the photos left as the camera took them (no photometric change)
RECIPES["wide128_prog_zoom_photo50"] = {**RECIPES["wide128_prog_zoom"], "photo_share": 0.5}
RECIPES["wide128_prog_zoom_photo50_seed1"] = {**RECIPES["wide128_prog_zoom_photo50"], "seed": 1}
# the default with twice the weight on its soft Dice term (the region-overlap part of the loss)
RECIPES["wide128_prog_zoom_dice2"] = {**RECIPES["wide128_prog_zoom"], "dice_weight": 2.0}
RECIPES["wide128_prog_zoom_dice2_seed1"] = {**RECIPES["wide128_prog_zoom_dice2"], "seed": 1}
# the default with a Dice weight of 3 rather than 2: does more weight on overlap go on paying?
RECIPES["wide128_prog_zoom_dice3"] = {**RECIPES["wide128_prog_zoom"], "dice_weight": 3.0}
# the default with plain 3x3 convolutions rather than depthwise-separable ones: 5.8x the
# parameters; 1.76x the step on the AVX2 machines, 1.51x at 128 x 256 on this AVX-512 one (bf16)
RECIPES["wide128_prog_zoom_dice2_plain"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "architecture": {"separable": False},
}
# the default with unweighted cross-entropy: the inverse-sqrt weights buy recall on rare classes
# with false positives (median-frequency weights lost 0.06), and Dice 2 now lifts thin classes
RECIPES["wide128_prog_zoom_dice2_unweighted"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "class_weights": "none",
}
# halfway: weights from the inverse fourth root of the frequency (unweighted lost 0.01-0.02, its
# large classes and pole gained, its rare ones fell)
RECIPES["wide128_prog_zoom_dice2_root4"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "class_weights": "root4",
}
# the fourth-root weights with a Dice weight of 3: the rare classes' share moved from the
# cross-entropy's weights to the Dice term, which counts every class present alike (root4 beside
# Dice 2 gained pixel accuracy and large classes, and lost bus and train)
RECIPES["wide128_prog_zoom_dice3_root4"] = {
    **RECIPES["wide128_prog_zoom_dice2_root4"],
    "dice_weight": 3.0,
}
# its full-size phase alone (for its step cost: bench_step.py)
RECIPES["wide128_plain"] = {**RECIPES["wide128"], "architecture": {"separable": False}}
# additive skips (LinkNet, FPN): each decoder level is brought to its skip's width by a 1x1 conv at
# the coarser level and added, so the costliest blocks (the first level's, at half the input
# size) convolve 48 channels rather than 112 and need no projection: a cheaper step, more epochs
RECIPES["wide128_add"] = {**RECIPES["wide128"], "architecture": {"skip": "add"}}
RECIPES["wide128_prog_zoom_dice2_add"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "architecture": {"skip": "add"},
}
# a narrower first level (32 channels rather than 48, at half the input size: the costliest
# level) paying for twice the channels in the two deepest levels and the bridge, where they cost
# least: at 96 x 192 it learnt a little less per epoch (0.404 against 0.407 after 16) for 0.83x
# the step; here it runs the epochs its step affords
RECIPES["wide128_narrow"] = {**RECIPES["wide128"], "architecture": NARROW_FIRST}
RECIPES["wide128_prog_zoom_dice2_narrow"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "architecture": NARROW_FIRST,
}
# squeeze-and-excitation in every block: each channel gated by the image's mean features (what
# kind of street is this?) for a few multiply-adds per channel; it costs elementwise passes
RECIPES["wide128_se"] = {**RECIPES["wide128"], "architecture": {"attention": "se"}}
RECIPES["wide128_prog_zoom_dice2_se"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "architecture": {"attention": "se"},
}
# for ``--epochs 18`` on a slow machine: the default's budgeted runs plan 20 epochs first (8 of
# them small, 0.4 x 20) and end after 18; 0.45 x 18 gives the same 8 small and 10 full-size ones
RECIPES["wide128_prog_zoom_dice2_se_e18"] = {
    **RECIPES["wide128_prog_zoom_dice2_se"],
    "early_share": 0.45,
}
# the zoom reaching below 1 (the field's random scale, e.g. 0.5-2): U(0.75, 1.5), so a third of
# the zoomed photos shrink into a void frame (smaller, farther objects); 2 at the top lost before
RECIPES["wide128_prog_zoom_dice2_out_e18"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "min_zoom": 0.75,
    "early_share": 0.45,
}
# the default as it was before batch norm moved to TensorFlow's fused kernel (the same arithmetic;
# Keras' own layer took 39 % of the step): the baseline of that change, side by side
KERAS_BN = {"batch_norm": "keras"}
RECIPES["wide128_kerasbn"] = {**RECIPES["wide128"], "architecture": KERAS_BN}
RECIPES["wide128_prog_zoom_dice2_kerasbn"] = {
    **RECIPES["wide128_prog_zoom_dice2"],
    "architecture": KERAS_BN,
}
# the default at other peak learning rates than model 2's 4e-3, set when its runs had 10-17
# epochs (it now fits 22-26 with fused batch norm): ``..._lr6e3`` (level: 0.452 against 0.449),
# ``..._lr8e3`` (ahead in two runs: +0.012 and +0.005 without TTA; the default since),
# ``..._lr12e3`` (1.2e-2, a screen after it: level with the multi-scale TTA, 0.475 against 0.474)
# and ``..._lr3e3`` (not run)
for _rate, _tag in ((6e-3, "6e3"), (8e-3, "8e3"), (3e-3, "3e3"), (1.2e-2, "12e3")):
    RECIPES[f"wide128_prog_zoom_dice2_lr{_tag}"] = {
        **RECIPES["wide128_prog_zoom_dice2"],
        "learning_rate": _rate,
    }
# the default with the second conv of every block dilated by 2: each block sees 7 x 7 cells
# rather than 5 x 5 for the same multiply-adds (a 5 x 5 depthwise kernel would cost 2.3x the step
# on this CPU), so the deeper levels see more of the street around a bus or a fence
DILATED = {"dilation": 2}
RECIPES["wide128_prog_zoom_dice2_lr8e3_dil2"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3"],
    "architecture": DILATED,
}
RECIPES["wide128_dil2"] = {**RECIPES["wide128"], "architecture": DILATED}  # its step cost
RECIPES["wide64_dil2"] = {**RECIPES["wide64"], "architecture": DILATED}
# the default with its learning rate falling in a straight line after the warm-up rather than a
# cosine: fewer steps near the peak and near the end, more in between (fast.ai's one-cycle; the
# "straight to zero" decay found best for fixed budgets), with the same peak and end; model 2's
# decay since its side by side (``utils.config.VARIANT_DEFAULTS``: the README's command is the same)
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3"],
    "schedule": "linear",
}
# the default with twice the channels in the two deepest levels and the bridge, again with fused
# batch norm (which made every activation cheaper to normalize): the large, rare vehicles
# (truck, bus, train: 0.18-0.30) are read at those levels
RECIPES["wide128_deep"] = {**RECIPES["wide128"], "architecture": DEEP_LEVELS}  # its step cost
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_deep"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "architecture": DEEP_LEVELS,
}
# the default on a second seed: the spread of two linear-decay runs of one recipe
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_seed1"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "seed": 1,
}
# the linear decay from a higher peak: the line leaves the peak sooner than a cosine, so it may
# bear the 1.2e-2 that was level with 8e-3 under the cosine
RECIPES["wide128_prog_zoom_dice2_lr12e3_linear"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr12e3"],
    "schedule": "linear",
}
# the default with every residual branch's last batch norm starting at scale 0 ("zero-gamma",
# Goyal et al. 2017): each block starts as its shortcut, so the early steps train a shallow
# network and the branches join in as they learn; no cost per step
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_zerog"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "architecture": {"zero_gamma": True},
}
# the default without the bridge's spatial dropout: at 33 minutes it still underfits (training
# mIoU 0.52 on augmented photos, 0.47-0.48 on the held-out cities), so regularizing may cost more
# than it saves (an earlier screen, cut short by a slow machine, showed no gain)
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_nodrop"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "architecture": NO_DROPOUT,
}
# the default with a white-balance change in its photometric augmentation: each channel's gain
# log-uniform in [0.8, 1.25] (brightness kept); a warmer camera (red x1.2, blue x0.8) cost the
# default model a quarter of its held-out score (bench_robustness.py, ``warm``)
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_cast"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "colour_cast": 0.25,
}
# the default with height-driven attention before the class scores (HANet, Choi et al. 2020):
# the last decoder level's channels gated row by row from the rows' mean features and their
# height, since street scenes sort their classes by height (sky, building, car, road, and the
# road against the sidewalk); a few multiply-adds per row
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_height"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "architecture": {"height_attention": True},
}
# the default with 60 % of its epochs at 64 x 128 rather than 40 %, for CPUs whose budget fits
# few full-size epochs: without AVX-512 a small epoch costs a quarter of a full one (a third with
# it) and 33 minutes fit 9 epochs, not 22-26; with 22-26 epochs (wide128_prog60_zoom) 60 % was
# ahead from 15 to 25 minutes and level at the end
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_e60"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "early_share": 0.6,
}
# the default with a fifth of its weight decay (0.01 rather than 0.05): on a CPU without AVX-512
# its 33 minutes fit 9 epochs and it underfits (held-out mIoU still rising 0.02 an epoch at the
# end), so the decay may cost more than it regularizes
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_wd001"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "weight_decay": 0.01,
}
# the default with its 1x1 convolutions (the separable blocks' pointwise half, the shortcuts, the
# class scores) as Dense layers on the channel axis: the same arithmetic and parameters on a
# matrix-product kernel, which ran the 1x1 convolutions' forward and backward passes in 0.6-0.9x
# the time on a CPU without AVX-512 (a profile of the default's step there: 31 % in Conv2D ops)
DENSE_1X1 = {"pointwise": "dense"}
RECIPES["wide128_dense"] = {**RECIPES["wide128"], "architecture": DENSE_1X1}  # its step cost
RECIPES["wide64_dense"] = {**RECIPES["wide64"], "architecture": DENSE_1X1}
RECIPES["wide128_prog_zoom_dice2_lr8e3_linear_dense"] = {
    **RECIPES["wide128_prog_zoom_dice2_lr8e3_linear"],
    "architecture": DENSE_1X1,
}
# every recipe above that names no Dice weight was measured with 1, model 2's default until the
# Dice-2 screens (now 2: utils.config.VARIANT_DEFAULTS); pinned so that they reproduce. Every
# recipe before the ``kerasbn`` pair was measured with Keras' batch norm: their arithmetic is the
# same with the fused one, but their steps are faster now, so a budgeted rerun fits more epochs.
# Likewise every model 2 recipe above that names no peak learning rate was measured with 4e-3,
# model 2's default until the ``_lr8e3`` side by side (now 8e-3), and with a cosine decay, model
# 2's until the ``_linear`` side by side (now linear), and with Keras' 1x1 convolutions, model 2's
# until the ``_dense`` side by side (now Dense layers: the same arithmetic, a faster kernel)
for _recipe in RECIPES.values():
    _recipe.setdefault("dice_weight", 1.0)
    if _recipe.get("variant") == "model2":
        _recipe.setdefault("learning_rate", 4e-3)
        _recipe.setdefault("schedule", "cosine")
        _recipe["architecture"] = {"pointwise": "conv", **_recipe.get("architecture", {})}
# the recipe the README's real-data command trains (a test holds the two together), and the one
# it replaced: the time-to-quality benchmark's baseline unless told otherwise (the Dense 1x1
# kernels reached the linear decay's final score in 0.92x its minutes: Semantic_out_2/README.md)
DEFAULT_RECIPE = "wide128_prog_zoom_dice2_lr8e3_linear_dense"
BASELINE_RECIPE = "wide128_prog_zoom_dice2_lr8e3_linear"
