"""What bad input gets: the errors that name it, the pair-file check, and parameter checks.

Every command and notebook checks its input before it creates anything, and says what is wrong
with which file, parameter or option, and what is allowed:

* pair files: :func:`decode_problems` decodes every file in full, once, with the input
  pipeline's own decoder, so all bad files are named up front instead of one of them failing
  mid-epoch inside ``tf.data`` (``data.check_files``, ``data.skip_bad_files`` build on it);
* parameters and options: :func:`whole`, :func:`number`, :func:`choice` (used by
  ``train.TrainConfig.check`` and the CLIs) and :func:`notebook_parameter` (used by the series
  runner on ``-p NAME=VALUE`` before any kernel starts, against the notebook's declared default).
"""

from __future__ import annotations

import ast
import math
import os
import re
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path

SHOWN_PROBLEMS = 20  # bad files listed one a line in an error; the rest are counted
# Notebook parameters (other than training ones, which TrainConfig.check covers): allowed range.
NOTEBOOK_RANGES = {
    "SEED": (0, None), "MAX_IMAGES": (0, None), "N_SAMPLES": (1, None), "K": (1, None),
    "SAMPLE_IMAGES": (1, None), "SAMPLE_PIXELS": (1, None), "N_EXAMPLES": (1, None),
    "GRID_IMAGES": (1, None), "GRID_EPOCHS": (1, None), "N_RANKED": (1, None),
    "EARLY_EPOCH": (0, None), "N_IMAGES": (0, None), "MAX_POINTS": (2, None),
    "PERPLEXITY": (1, None), "MIN_PURITY": (0, 1), "IMAGE_INDEX": (-1, None),
}  # fmt: skip
NOTEBOOK_CHOICES = {
    "SPLIT": ("train", "val", "all"),
    "METHOD": ("palette", "kmeans"),
    # utils.inference.TTA_MODES (checked against it in tests)
    "TTA": ("none", "flip", "multiscale"),
}


class DatasetError(ValueError):
    """A data file or folder is missing or malformed; the message names it."""


class ParameterError(ValueError):
    """A parameter or option has the wrong type or value; the message names it and what is
    allowed. ``name`` is the parameter's name."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        super().__init__(f"{name}={value!r}: {allowed}")
        self.name, self.value, self.allowed = name, value, allowed


# --------------------------------------------------------------------------- pair files
def check_pair_shape(shape: tuple[int, ...], path: str | os.PathLike) -> None:
    """Raise ``DatasetError`` naming ``path`` unless ``shape`` is RGB with width 2 x height."""
    if len(shape) != 3 or shape[2] != 3:
        channels = 1 if len(shape) == 2 else shape[2]
        raise DatasetError(f"{path}: expected 3 colour channels, found {channels}")
    h, w = shape[:2]
    if w % 2:
        raise DatasetError(f"{path}: odd width {w}; a pair image is two halves side by side")
    if w != 2 * h:
        raise DatasetError(f"{path}: size {w}x{h} is not 2:1 (photo and label side by side)")


def _decode_error(path: str) -> str:
    """Why TensorFlow cannot decode ``path``, in its own words, without its op decorations."""
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except tf.errors.NotFoundError:
        return "file not found"
    except tf.errors.OpError as e:
        reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*$", "", e.message).strip()
        return f"not a readable image ({reason})"
    return "not a readable image"


def decode_problems(files: Sequence[str | os.PathLike]) -> dict[Path, str]:
    """``{file: what is wrong}`` for every file that is not a usable pair image; {} if none.

    Every file is decoded in full, once, by the input pipeline's own decoder
    (``tf.io.decode_image`` in a parallel ``tf.data`` pass), so a file that passes cannot fail
    later inside ``tf.data`` with an unnamed ``jpeg::Uncompress failed``; a header check alone
    misses truncated files. About 3-4 s for the 2975 train pairs on 2 busy CPU cores.
    """
    import tensorflow as tf

    paths = [str(f) for f in files]
    if not paths:
        return {}

    def probe(path):  # noqa: ANN001, ANN202
        return path, tf.shape(tf.io.decode_image(tf.io.read_file(path), expand_animations=False))

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(probe, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()  # bad ones drop out
    shapes = {p.decode(): tuple(int(n) for n in s) for p, s in ds.as_numpy_iterator()}
    problems = {}
    for path in paths:
        shape = shapes.get(path)
        try:
            if shape is None:
                raise DatasetError(f"{path}: {_decode_error(path)}")
            check_pair_shape(shape if shape[2] > 1 else shape[:2], path)
        except DatasetError as e:
            problems[Path(path)] = str(e).removeprefix(f"{path}: ")
    return problems


def describe_problems(problems: dict[Path, str]) -> str:
    """One line a bad file ("path: problem"), the first ``SHOWN_PROBLEMS``, then a count."""
    lines = [f"{path}: {problem}" for path, problem in list(problems.items())[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"... and {len(problems) - SHOWN_PROBLEMS} more")
    return "\n".join(lines)


def bad_files_error(problems: dict[Path, str]) -> DatasetError:
    """The error for bad files: one names itself; several are counted, then listed."""
    head = "" if len(problems) == 1 else f"{len(problems)} files are not usable pairs:\n"
    return DatasetError(head + describe_problems(problems))


# --------------------------------------------------------------------------- parameters
def whole(name: str, value: object, minimum: int | None = None) -> int:
    """``value`` if it is a whole number (not a bool) of at least ``minimum``."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise ParameterError(name, value, "must be a whole number")
    if minimum is not None and value < minimum:
        raise ParameterError(name, value, f"must be a whole number >= {minimum}")
    return int(value)


def number(
    name: str,
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float:
    """``value`` if it is a finite number (not a bool) in ``[minimum, maximum]``, > ``above``."""
    if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ParameterError(name, value, "must be a finite number")
    low = f">= {minimum}" if minimum is not None else f"> {above}" if above is not None else ""
    allowed = " and ".join(x for x in (low, "" if maximum is None else f"<= {maximum}") if x)
    if (
        (minimum is not None and value < minimum)
        or (above is not None and value <= above)
        or (maximum is not None and value > maximum)
    ):
        raise ParameterError(name, value, f"must be a number {allowed}")
    return float(value)


def choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ParameterError(name, value, f"choose from {', '.join(map(repr, allowed))}")
    return str(value)


def fields(
    obj: object,
    choices: dict[str, Sequence[str]],
    minimums: dict[str, int],
    limits: dict[str, dict[str, float]],
) -> None:
    """Check attributes of ``obj`` by name: :func:`choice` (``choices``), :func:`whole`
    (``minimums``) and :func:`number` (``limits``: its keyword arguments)."""
    for name, allowed in choices.items():
        choice(name, getattr(obj, name), allowed)
    for name, minimum in minimums.items():
        whole(name, getattr(obj, name), minimum)
    for name, kwargs in limits.items():
        number(name, getattr(obj, name), **kwargs)


def like_default(name: str, value: object, default: str) -> None:
    """Raise ``ParameterError`` unless ``value`` has the type of a notebook's declared default.

    ``default`` is the default's source text (papermill's ``inspect_notebook``): an ``int``
    default needs a whole number, a ``float`` one any number, a ``str`` one text, a ``bool``
    one True or False. Defaults that are not literals accept anything.
    """
    try:
        declared = ast.literal_eval(default)
    except (ValueError, SyntaxError):
        return
    kinds = {bool: "True or False", int: "a whole number", float: "a number", str: "text"}
    wanted = kinds.get(type(declared))
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(type(declared), True)
    if not ok:
        raise ParameterError(name, value, f"must be {wanted} (the notebook declares {default})")


def notebook_parameter(name: str, value: object, default: str) -> None:
    """Type (as the declared default) and range check of one notebook parameter."""
    like_default(name, value, default)
    if name in NOTEBOOK_CHOICES:
        choice(name, value, NOTEBOOK_CHOICES[name])
    if name in NOTEBOOK_RANGES:
        low, high = NOTEBOOK_RANGES[name]
        number(name, value, minimum=low, maximum=high)
