"""Apply a trained model to new images: a colour label PNG per input, at the photo's size.

    python -m utils.predict --model runs/default/models/model1 --input photos/ --out predictions/
    python -m utils.predict --model MODEL --input pair.jpg --out DIR --overlay

Inputs are pair files (photo | label side by side, the photo half is used) or plain photos of any
size. A 2:1 image counts as a pair when its right half looks like a label image (most pixels near
a mapping colour); ``--kind pair|photo`` overrides that guess. Each photo is resized to the
model's input size as in training (area averaging), and by default also to 4/3 of it; the
logits of each size, averaged with those of its mirror image, are resized back (bilinear) and
averaged (multi-scale and flip test-time augmentation; ``--tta flip`` keeps the input size
alone for 0.4x the time, ``--tta none`` the photo alone), and their argmax is written as
``OUT/<name>.png`` in the mapping's display colours (the official Cityscapes colours for the
palette mapping).
``--overlay`` also writes the prediction blended over the photo to ``OUT/overlay/<name>.png``.

Bad input: ``--out`` is checked before the model loads; every readable input is predicted, then
every unreadable one is listed and the exit status is 1 (``--skip-bad-files``: listed, status 0).
Each PNG is written atomically, so a killed run leaves only complete files.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils import checks, data, inference, labels, model, runio
from utils.colours import ColourMapping, nearest_centre

log = logging.getLogger(__name__)

LABEL_DISTANCE = 40  # RGB distance within which a pixel counts as "a label colour"
LABEL_SHARE = 0.85  # real label halves: >= 0.90 within 40; real photos: <= 0.78 (measured)
OVERLAY_ALPHA = 0.5
KINDS = ("auto", "pair", "photo")


class BadInputs(data.DatasetError):
    """Some inputs could not be read; the others were predicted (``written``)."""

    def __init__(self, problems: dict[Path, str], written: list[Path]) -> None:
        super().__init__(
            f"{len(problems)} inputs could not be read ({len(written)} label images were "
            f"written):\n{checks.describe_problems(problems)}"
        )
        self.problems, self.written = problems, written


def label_colour_share(image: np.ndarray, mapping: ColourMapping, step: int = 2) -> float:
    """Share of (subsampled) pixels within ``LABEL_DISTANCE`` of one of the mapping's colours."""
    pixels = np.asarray(image)[::step, ::step].reshape(-1, 3).astype(np.float32)
    nearest = mapping.centres[nearest_centre(pixels, mapping.centres)]
    return float((((pixels - nearest) ** 2).sum(1) <= LABEL_DISTANCE**2).mean())


def photo_of(
    image: np.ndarray, mapping: ColourMapping, kind: str = "auto", path: str = ""
) -> np.ndarray:
    """The photo in an image: the left half of a pair, or the whole image."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[..., :3]
    h, w = image.shape[:2]
    if kind == "pair":
        return data.split_pair(image, path)[0]
    if (
        kind == "auto"
        and w == 2 * h
        and label_colour_share(image[:, w // 2 :], mapping) >= LABEL_SHARE
    ):
        return image[:, : w // 2]
    return image


def overlay(photo: np.ndarray, colour_ids: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The colour label image blended over the photo."""
    mixed = (1 - alpha) * photo.astype(np.float32) + alpha * colour_ids.astype(np.float32)
    return np.round(mixed).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG, atomically."""
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    return runio.atomic_write_bytes(path, encoded.tobytes())


def list_inputs(path: str | os.PathLike) -> list[Path]:
    """The image files to predict: one file, or every image in a folder (natural order)."""
    path = Path(path)
    if not path.exists():
        raise data.DatasetError(f"{path}: input not found (no such file or folder)")
    if path.is_file():
        return [path]
    files = data.list_images(path)
    stems = [f.stem for f in files]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise data.DatasetError(f"{path}: several images share the names {clashes[:5]}")
    return files


def write_predictions(
    model_dir: str | os.PathLike,
    inputs: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    with_overlay: bool = False,
    kind: str = "auto",
    progress: bool = True,
    tta: str = inference.DEFAULT_TTA,
    skip_bad: bool = False,
) -> list[Path]:
    """Predict every readable input and write its label PNG (and overlay); the PNG paths.

    Checks ``out_dir`` before loading the model. An unreadable input does not stop the others:
    at the end ``BadInputs`` lists every one (with ``skip_bad``: a warning lists them instead).
    """
    from tqdm.auto import tqdm

    checks.choice("kind", kind, KINDS)
    inference.check_tta(tta)
    files = list_inputs(inputs)
    out_dir = runio.writable_dir(out_dir)
    net, mapping, config = model.load_trained(model_dir)
    written, problems = [], {}
    for f in tqdm(files, desc="predict", unit="image", disable=not progress):
        try:
            photo = photo_of(data.read_image(f), mapping, kind, str(f))
        except data.DatasetError as e:
            problems[f] = str(e).removeprefix(f"{f}: ")
            continue
        ids = inference.predict_photo(net, photo, config["input_size"], tta)
        colour = labels.colourise(ids, mapping.display_colours)
        written.append(write_png(out_dir / f"{f.stem}.png", colour))
        if with_overlay:
            write_png(out_dir / "overlay" / f"{f.stem}.png", overlay(photo, colour))
    if problems and not skip_bad:
        raise BadInputs(problems, written)
    if problems:
        log.warning(
            "skipped %d unreadable inputs:\n%s", len(problems), checks.describe_problems(problems)
        )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.predict",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    ap.add_argument(
        "--model", required=True, help="model folder RUN_DIR/models/VARIANT (or its model.keras)"
    )
    ap.add_argument("--input", required=True, help="an image file or a folder of images")
    ap.add_argument("--out", required=True, help="output folder for the label PNGs")
    ap.add_argument("--overlay", action="store_true", help="also write OUT/overlay/<name>.png")
    ap.add_argument("--kind", choices=KINDS, default="auto", help="pair files, photos, or guess")
    ap.add_argument(
        "--tta",
        choices=inference.TTA_MODES,
        default=inference.DEFAULT_TTA,
        help="multiscale (default): flip at the input size and at 4/3 of it; flip: average "
        "the logits of each photo and its mirror image (0.4x multiscale's time); none: the "
        "photo alone (half flip's time)",
    )
    ap.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="predict the readable inputs and list the unreadable ones, exit status 0",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        written = write_predictions(
            args.model,
            args.input,
            args.out,
            with_overlay=args.overlay,
            kind=args.kind,
            tta=args.tta,
            progress=sys.stderr.isatty(),
        )
    except BadInputs as e:  # every readable input was predicted; the bad ones are listed
        print(f"wrote {len(e.written)} label images to {args.out}")
        if args.skip_bad_files:
            listed = checks.describe_problems(e.problems)
            print(f"skipped {len(e.problems)} unreadable inputs:\n{listed}")
            return 0
        print(f"predict failed: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"predict failed: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} label images to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
