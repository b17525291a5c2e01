"""Procedurally drawn street scenes in the Kaggle ``cityscapes-image-pairs`` format.

Each scene is a 256x256 street photo and its label image in the official Cityscapes colours
(taken from ``utils.labels``), drawn with the same geometry in one pass: a pinhole camera over a
flat street (road with lane markings, sidewalks, terrain strips), building facades with windows,
trees and hedges, poles with signs and traffic lights, cars, buses, trams, people and cyclists,
sorted far to near; sometimes the recording car's bonnet (void) at the bottom edge. Photo colours
are drawn per image from wide, overlapping ranges, then texture, shadows, haze, global brightness /
contrast / colour cast, blur and sensor noise are added, so a model has to use shape and context,
not a colour lookup. The label is drawn at twice the size and area-averaged down (anti-aliased
borders, as in the downscaled Kaggle labels). Pairs are saved side by side as 512x256 JPEGs with
the Kaggle files' quality and 4:2:0 chroma, so label borders blur the same way.

    python -m utils.synthetic --out DIR --train 200 --val 50 --seed 0

Every image has its own seed derived from ``(seed, split, index)``, so asking for more images
keeps the first ones byte for byte.
"""
# The modules, in import order (each imports only modules listed before it):
#   colours    random photo colours (facades, paving, foliage, tinted greys)
#   classes    the train ids drawn in the label
#   camera     pinhole camera, the photo + label Canvas, world-space quads
#   plants     trees and hedges
#   furniture  poles with lamps, signs and traffic lights; bins, walls and fences
#   vehicles   cars, trucks, buses, trams; the recording car's bonnet
#   people     pedestrians and cyclists
#   street     street layout, sky, skyline, road and sidewalks, facades
#   finishing  cast shadows, photo effects, the label image, the JPEG pair
#   scene      draw_scene: one whole scene
# This module adds sample folders: per-image seeds, generate / ensure_sample with a manifest, and
# the command line (``__main__``). ``generate`` calls ``draw_scene`` through this module's
# namespace, so patching ``utils.synthetic.draw_scene`` reaches it.

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from utils.synthetic.camera import FAR, LABEL_BITS, LABEL_SHIFT, ONE, SHIFT, Z_NEAR, Camera, Canvas
from utils.synthetic.classes import (
    BICYCLE,
    BUILDING,
    BUS,
    CAR,
    FENCE,
    LIGHT,
    MOTORCYCLE,
    PERSON,
    POLE,
    RIDER,
    ROAD,
    SIDEWALK,
    SIGN,
    SKY,
    TERRAIN,
    TRAIN,
    TRUCK,
    VEGETATION,
    VOID,
    WALL,
)
from utils.synthetic.colours import Colour
from utils.synthetic.finishing import JPEG_QUALITY, LABEL_BLUR, encode_pair
from utils.synthetic.scene import IMAGE_SIZE, draw_scene
from utils.synthetic.street import Street

GENERATOR_VERSION = 1  # bump when scenes change, so cached samples are regenerated
DEFAULT_TRAIN = 200
DEFAULT_VAL = 50
MANIFEST = "manifest.json"
SPLITS = ("train", "val")


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` (1-based) of ``split``: independent of how many are made."""
    return np.random.default_rng([int(seed), SPLITS.index(split), int(index)])


def _manifest(n_train: int, n_val: int, seed: int) -> dict:
    """What a sample folder was generated with."""
    return {
        "generator": "utils.synthetic",
        "n_train": int(n_train),
        "n_val": int(n_val),
        "seed": int(seed),
        "version": GENERATOR_VERSION,
        "size": IMAGE_SIZE,
    }


def read_manifest(out_dir: str | os.PathLike) -> dict | None:
    """The manifest of a generated folder, or None when absent or unreadable."""
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def generate(
    out_dir: str | os.PathLike, n_train: int, n_val: int, seed: int = 0, progress: bool = True
) -> Path:
    """Write ``n_train`` / ``n_val`` pair JPEGs and a manifest to ``out_dir``, atomically.

    Everything is written to a temporary sibling folder that is renamed into place at the end, so
    an interrupted run leaves no ``out_dir``. An existing ``out_dir`` is replaced only if it is
    empty or was made by this generator (it has a manifest).
    """
    from tqdm.auto import tqdm

    out = Path(out_dir).expanduser()
    if n_train < 1 or n_val < 0:
        raise ValueError(f"need n_train >= 1 and n_val >= 0, got {n_train} and {n_val}")
    if out.exists() and not (
        out.is_dir() and (read_manifest(out) is not None or not any(out.iterdir()))
    ):
        raise FileExistsError(
            f"{out}: exists and is not a generated synthetic sample; refusing to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        bar = tqdm(
            total=n_train + n_val,
            desc=f"synthetic scenes -> {out.name}",
            unit="img",
            disable=not progress,
            mininterval=1,
        )
        with bar:
            for split, n in zip(SPLITS, (n_train, n_val), strict=True):
                if n == 0:  # no val/ folder: find_dataset then holds out part of train
                    continue
                folder = tmp / split
                folder.mkdir()
                for i in range(1, n + 1):
                    photo, label = draw_scene(image_rng(seed, split, i))
                    (folder / f"{i}.jpg").write_bytes(encode_pair(photo, label))
                    bar.update()
        (tmp / MANIFEST).write_text(json.dumps(_manifest(n_train, n_val, seed), indent=2))
        if out.exists():
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():  # interrupted between the two renames
            os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out


def ensure_sample(
    out_dir: str | os.PathLike,
    n_train: int = DEFAULT_TRAIN,
    n_val: int = DEFAULT_VAL,
    seed: int = 0,
) -> Path:
    """``out_dir`` if it holds exactly this sample (sizes, seed, version), else (re)generate it."""
    out = Path(out_dir).expanduser()
    want = _manifest(n_train, n_val, seed)
    have = read_manifest(out)
    if have == want and all(
        len(list((out / split).glob("*.jpg"))) == n
        for split, n in zip(SPLITS, (n_train, n_val), strict=True)
    ):
        return out
    return generate(out, n_train, n_val, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.synthetic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--out", required=True, type=Path, help="folder to write (train/, val/, manifest.json)"
    )
    ap.add_argument(
        "--train", type=int, default=DEFAULT_TRAIN, help=f"training pairs (default {DEFAULT_TRAIN})"
    )
    ap.add_argument(
        "--val", type=int, default=DEFAULT_VAL, help=f"validation pairs (default {DEFAULT_VAL})"
    )
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    try:
        out = generate(args.out, args.train, args.val, args.seed, progress=not args.quiet)
    except (ValueError, FileExistsError) as e:
        print(f"synthetic: {e}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    n = args.train + args.val
    print(f"wrote {n} pairs to {out} in {seconds:.1f} s ({n / seconds:.0f} images/s)")
    return 0


__all__ = [
    "BICYCLE",
    "BUILDING",
    "BUS",
    "CAR",
    "DEFAULT_TRAIN",
    "DEFAULT_VAL",
    "FAR",
    "FENCE",
    "GENERATOR_VERSION",
    "IMAGE_SIZE",
    "JPEG_QUALITY",
    "LABEL_BITS",
    "LABEL_BLUR",
    "LABEL_SHIFT",
    "LIGHT",
    "MANIFEST",
    "MOTORCYCLE",
    "ONE",
    "PERSON",
    "POLE",
    "RIDER",
    "ROAD",
    "SHIFT",
    "SIDEWALK",
    "SIGN",
    "SKY",
    "SPLITS",
    "TERRAIN",
    "TRAIN",
    "TRUCK",
    "VEGETATION",
    "VOID",
    "WALL",
    "Z_NEAR",
    "Camera",
    "Canvas",
    "Colour",
    "Street",
    "draw_scene",
    "encode_pair",
    "ensure_sample",
    "generate",
    "image_rng",
    "main",
    "read_manifest",
]
