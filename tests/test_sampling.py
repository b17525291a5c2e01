"""Repeat-factor sampling (utils.sampling): the factors, and the tf.data epoch it draws."""

from __future__ import annotations

import numpy as np
import pytest

from utils import checks, sampling
from utils.config import TrainConfig


def test_class_factors_follow_the_square_root_rule() -> None:
    # threshold 0.1: a class in 2.5 % of photos repeats 2x, one in 10 % or more never
    factors = sampling.class_factors(np.array([0.025, 0.1, 0.9, 0.0]), 0.1)
    np.testing.assert_allclose(factors, [2.0, 1.0, 1.0, 1.0])


def test_photo_factor_is_its_rarest_class_and_rims_do_not_count() -> None:
    ids = np.zeros((8, 20, 20), np.uint8)  # 400 pixels each: class 0 everywhere
    ids[0, :5] = 1  # class 1 (100 pixels) in one photo of eight: share 1/8
    ids[1:, 0, :1] = 1  # one pixel of class 1 in the others: a rim, under min_share
    ids[2, 10:] = 255  # void is no class
    factors = sampling.photo_factors(ids, threshold=0.5, min_share=0.01)
    np.testing.assert_allclose(factors, [2.0] + [1.0] * 7)  # sqrt(0.5 / (1/8)) = 2


def test_repeat_rare_draws_rare_photos_more_often_in_epochs_of_the_same_length() -> None:
    import tensorflow as tf

    n = 40
    photos = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    ids = np.zeros((n, 4, 4), np.uint8)
    ids[0] = 1  # class 1 in photo 0 only: share 1/40, factor sqrt(0.1 * 40) = 2
    ids[5] = 255  # all void: no class, listed once like the rest
    ds = tf.data.Dataset.from_tensor_slices((photos, ids)).cache()
    epochs = sampling.shuffled(ds, n, seed=3, rare_repeat=0.1)
    assert int(epochs.cardinality()) == n
    drawn = [
        [int(p[0, 0, 0]) for p, _ in epochs.as_numpy_iterator()] for _ in range(30)
    ]  # fmt: skip
    assert all(len(epoch) == n for epoch in drawn)
    assert len({tuple(epoch) for epoch in drawn}) == 30  # a new order every epoch
    counts = np.bincount(np.concatenate(drawn), minlength=n)
    # photo 0 is listed twice among 41 entries, then 40 are kept: 40 * 2/41 = 1.95 per epoch
    assert counts[0] / 30 == pytest.approx(1.95, abs=0.1)
    assert counts[1:].mean() / 30 == pytest.approx(40 / 41, abs=0.02)
    assert counts[5] / 30 == pytest.approx(40 / 41, abs=0.15)  # the all-void photo too
    for p, y in epochs.take(5).as_numpy_iterator():  # photo and label stay together
        assert (y == 1).all() == (p[0, 0, 0] == 0)


def test_shuffled_without_rare_repeat_is_a_plain_permutation() -> None:
    import tensorflow as tf

    ds = tf.data.Dataset.range(10)
    out = list(sampling.shuffled(ds, 10, seed=1).as_numpy_iterator())
    assert sorted(out) == list(range(10)) and out != list(range(10))


def test_rare_repeat_out_of_range_is_named() -> None:
    with pytest.raises(checks.ParameterError, match="rare_repeat"):
        TrainConfig(variant="model2", rare_repeat=-0.1).check()
    with pytest.raises(checks.ParameterError, match="rare_repeat"):
        TrainConfig(variant="model2", rare_repeat=2.0).check()


def test_training_pipeline_with_rare_repeat_keeps_its_steps(tmp_path) -> None:  # noqa: ANN001
    """``TrainConfig.rare_repeat`` reaches the training pipeline (not validation): as many
    batches per epoch as without, photo and labels at the training size."""
    from utils import data, synthetic, train
    from utils.colours import ColourMapping

    root = synthetic.generate(tmp_path, n_train=12, n_val=4, seed=0, progress=False)
    cfg = TrainConfig(variant="model2", image_size=64, batch_size=4, rare_repeat=0.5).check()
    prepared = train.prepare(data.find_dataset(root), ColourMapping.palette(), cfg)
    batches = list(prepared.train_ds)
    assert len(batches) == prepared.steps_per_epoch == 3
    assert all(x.shape == (4, 64, 64, 3) and y.shape == (4, 64, 64) for x, y in batches)
    assert sum(1 for _ in prepared.val_ds.unbatch()) == 4  # validation is left as it is
