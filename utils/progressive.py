"""Progressive resizing: a run's first epochs on smaller photos, the rest at the full size.

An epoch on photos of two thirds the height and width (0.44x the pixels) takes about half the
time of a full-size one on this CPU, so a budget fits more passes over the data; the last epochs,
at the size the model is evaluated at, adapt it (and its batch-norm statistics) to that scale.
The technique is fast.ai's (Howard & Gugger 2018, for ImageNet and CamVid). ``TrainConfig``'s
``early_share`` and ``early_scale`` set it; ``utils.train`` prepares a second training dataset
at ``TrainConfig.early_size`` and trains in two phases with :func:`fit_phases`.

Keras has no such callback, and the size cannot change within one ``fit``: its training step is
traced for the dataset's shapes, and for a dataset whose photos change size it would be traced
for any size, where ``UpSampling2D`` fails (Keras 3.15: its resize checks the size in Python).
So each phase is its own ``fit`` of the same model and optimizer, with its own trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras


def early_epochs(share: float, epochs: int) -> int:
    """How many of ``epochs`` train on small photos: ``share`` of them, at least one full-size
    epoch left (0 when ``share`` is 0)."""
    return min(int(round(share * epochs)), epochs - 1) if share else 0


def fit_phases(
    net: keras.Model, phases: Sequence[tuple[object, int]], done: int = 0, **fit_args
) -> None:
    """``net.fit`` on each phase's dataset up to its epoch (``(dataset, last epoch)`` in order),
    each phase going on from the epoch where the one before ended.

    A run resumed after ``done`` epochs skips the phases it has finished (its
    ``keras.callbacks.BackupAndRestore`` restores the epoch within a phase). A phase stopped
    early (early stopping, a budget) ends the run.
    """
    start = 0
    for dataset, end in phases:
        if end <= max(start, done):
            start = end
            continue
        net.make_train_function(force=True)  # the phase's photo size gets its own trace
        history = net.fit(dataset, initial_epoch=start, epochs=end, **fit_args)
        if history.epoch and history.epoch[-1] + 1 < end:
            return  # stopped before the phase's end
        start = end
