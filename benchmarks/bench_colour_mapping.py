"""Label colours -> class ids: the cost of the lookup-table mapping next to JPEG decoding alone.

On every pair JPEG of the training folder (2975 on the real data) it times, in one run,
  (a) decode only:  cv2.imdecode of each file's bytes;
  (b) decode, split the pair, turn the label half BGR -> RGB and map it with ``mapping.apply``.
File bytes are read into memory first, so disk reads count in neither. Each pass runs ``--repeats``
times, alternating (a) and (b), and the fastest of each is compared (the machine is shared; the
fastest pass is the one least disturbed). The target is (b) <= 1.5 x (a).

    python benchmarks/bench_colour_mapping.py [--data ../shared/data/cityscapes_pairs]
                                              [--mapping RUN_DIR/mapping.json] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import cv2
import numpy as np

from utils import data
from utils.colours import ColourMapping, resolve_mapping

TARGET_RATIO = 1.5


def decode_only(blobs: list[np.ndarray], mapping: ColourMapping) -> int:
    """Pass (a): decode every JPEG; returns the number of pixels decoded."""
    return sum(cv2.imdecode(b, cv2.IMREAD_COLOR).size for b in blobs)


def decode_and_map(blobs: list[np.ndarray], mapping: ColourMapping) -> int:
    """Pass (b): decode, split, label half to RGB, map to class ids; returns labelled pixels."""
    n = 0
    for b in blobs:
        _, label_bgr = data.split_pair(cv2.imdecode(b, cv2.IMREAD_COLOR))
        n += mapping.apply(cv2.cvtColor(label_bgr, cv2.COLOR_BGR2RGB)).size
    return n


def seconds(fn: Callable, *args: object) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    """Time both passes and print the figures, the ratio and pass/fail."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="dataset folder (default: $CITYSCAPES_DATA or ../shared/data)"
    )
    ap.add_argument("--mapping", default="", help="mapping JSON (default: official palette)")
    ap.add_argument("--repeats", type=int, default=3, help="passes of each kind (fastest counts)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N files (0 = all)")
    args = ap.parse_args()
    files = data.list_images(
        data.locate_split_dirs(data.resolve_root(args.data, fallback=data.SHARED_DATA))[0]
    )
    files = files[: args.limit] if args.limit else files
    mapping, _ = resolve_mapping(args.mapping)
    blobs = [np.fromfile(f, np.uint8) for f in files]
    print(
        f"{len(files)} pair JPEGs from {args.data} ({sum(b.size for b in blobs) / 1e6:.0f} MB "
        f"in memory); mapping: {mapping.method}, {mapping.num_classes} classes; "
        f"{os.cpu_count()} CPU cores, best of {args.repeats}"
    )
    decode_and_map(blobs[:32], mapping)  # warm-up: libjpeg, allocator, LUT pages
    times: dict[str, list[float]] = {"decode": [], "map": []}
    for _ in range(args.repeats):
        times["decode"].append(seconds(decode_only, blobs, mapping))
        times["map"].append(seconds(decode_and_map, blobs, mapping))
    a, b = min(times["decode"]), min(times["map"])
    n = len(blobs)
    print(f"(a) decode only                    : {a:6.2f} s  ({a / n * 1e3:.3f} ms per image)")
    print(f"(b) decode + split + RGB + apply   : {b:6.2f} s  ({b / n * 1e3:.3f} ms per image)")
    print(f"    mapping's own share            : {(b - a) / n * 1e3:.3f} ms per image")
    ratio = b / a
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio (b)/(a) = {ratio:.2f}  (target <= {TARGET_RATIO}): {verdict}")


if __name__ == "__main__":
    main()
