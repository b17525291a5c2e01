"""Confusion-matrix metrics against a hand-computed example; the Keras metric agrees with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from utils import metrics
from utils.labels import IGNORE_ID

V = IGNORE_ID
# 3 classes, 10 pixels, 2 of them void. Truth / prediction pixel by pixel:
TRUTH = np.array([[0, 0, 0, 1, 1], [1, 2, 2, V, V]])
PRED = np.array([[0, 0, 1, 1, 1], [2, 2, 0, 1, 2]])
# Counted by hand (rows truth, columns prediction), void pixels left out:
#   truth 0: pred 0,0,1     -> [2, 1, 0]
#   truth 1: pred 1,1,2     -> [0, 2, 1]
#   truth 2: pred 2,0       -> [1, 0, 1]
HAND_CM = np.array([[2, 1, 0], [0, 2, 1], [1, 0, 1]])
# IoU = TP / (truth + pred - TP): class 0: 2/(3+3-2); class 1: 2/(3+3-2); class 2: 1/(2+2-1)
HAND_IOU = [0.5, 0.5, 1 / 3]
HAND_PIXEL_ACC = 5 / 8
HAND_CLASS_ACC = (2 / 3 + 2 / 3 + 1 / 2) / 3


def one_hot_logits(pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Logits whose argmax is ``pred``."""
    return np.eye(num_classes, dtype=np.float32)[pred] * 5.0


def test_hand_computed_confusion_matrix_and_scores() -> None:
    cm = metrics.confusion_matrix(TRUTH, PRED, 3)
    np.testing.assert_array_equal(cm, HAND_CM)
    s = metrics.scores(cm)
    assert s["pixel_accuracy"] == pytest.approx(HAND_PIXEL_ACC)
    assert s["mean_class_accuracy"] == pytest.approx(HAND_CLASS_ACC)
    np.testing.assert_allclose(s["per_class_iou"], HAND_IOU)
    assert s["mean_iou"] == pytest.approx(np.mean(HAND_IOU))


def test_keras_metric_matches_hand_example_over_two_batches() -> None:
    m = metrics.ConfusionMatrixMetric(3, class_names=["a", "b c", "d"], per_class=True)
    # Two batches of one image each: the matrix accumulates over the dataset.
    m.update_state(TRUTH[None, :1], one_hot_logits(PRED[None, :1], 3))
    m.update_state(TRUTH[None, 1:], one_hot_logits(PRED[None, 1:], 3))
    np.testing.assert_array_equal(m.matrix(), HAND_CM)
    r = {k: float(v) for k, v in m.result().items()}
    assert r["pixel_accuracy"] == pytest.approx(HAND_PIXEL_ACC)
    assert r["mean_class_accuracy"] == pytest.approx(HAND_CLASS_ACC)
    assert r["mean_iou"] == pytest.approx(np.mean(HAND_IOU))
    assert r["iou_b_c"] == pytest.approx(0.5)
    m.reset_state()
    assert m.matrix().sum() == 0


def test_mean_over_present_classes_only() -> None:
    # 5 classes, only 0 and 1 occur (in truth or prediction): classes 2-4 are not averaged in.
    truth = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    s = metrics.scores(metrics.confusion_matrix(truth, pred, 5))
    assert s["present"].tolist() == [True, True, False, False, False]
    assert s["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert np.isnan(s["per_class_iou"][3])
    # A class only predicted (never true) is present, with IoU 0.
    s = metrics.scores(metrics.confusion_matrix(np.array([0, 0]), np.array([0, 4]), 5))
    assert s["mean_iou"] == pytest.approx((1 / 2 + 0) / 2)


def test_perfect_prediction_and_void_only() -> None:
    truth = np.array([[0, 1, 2, V]])
    s = metrics.summary(metrics.confusion_matrix(truth, np.where(truth == V, 0, truth), 3), "abc")
    assert s["pixel_accuracy"] == s["mean_iou"] == s["mean_class_accuracy"] == 1.0
    assert s["pixels"] == 3
    m = metrics.ConfusionMatrixMetric(3)
    m.update_state(np.full((1, 2, 2), V), one_hot_logits(np.zeros((1, 2, 2), int), 3))
    assert float(m.result()["mean_iou"]) == 0.0 and m.matrix().sum() == 0


def test_per_image_iou() -> None:
    truth = np.stack([TRUTH, TRUTH])
    pred = np.stack([PRED, np.where(TRUTH == V, 0, TRUTH)])
    np.testing.assert_allclose(metrics.per_image_iou(truth, pred, 3), [np.mean(HAND_IOU), 1.0])
