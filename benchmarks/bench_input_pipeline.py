"""Input pipeline throughput: utils.data's tf.data pipeline vs a plain OpenCV loop, side by side.

Both do the same work on the same files: read and decode each pair JPEG, split it, resize the
photo (area) and the label (nearest) to the training size, map label colours to class ids with
the palette LUT, and assemble float32 photos and uint8 ids (one array for the loop, batches
for tf.data).

    python benchmarks/bench_input_pipeline.py [--data ../shared/data/cityscapes_pairs]
                                               [--size 128] [--batch 16] [--limit 0]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from utils import data  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402

PALETTE = ColourMapping.palette()


def opencv_loop(files: list[Path], size: int, mapping: ColourMapping) -> int:
    """The plain loop: cv2 reads every file into one NumPy array; returns the number of pairs."""
    photos = np.empty((len(files), size, size, 3), np.float32)
    ids = np.empty((len(files), size, size), np.uint8)
    for i, f in enumerate(files):
        photo, label = data.split_pair(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB))
        photos[i] = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA) / 255.0
        ids[i] = mapping.apply(cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST))
    return len(photos)


def tfdata_pass(files: list[Path], size: int, batch: int, cache: bool) -> tuple[int, float, float]:
    """One cold and one warm epoch of ``make_dataset``; returns (pairs, cold s, warm s)."""
    ds = data.make_dataset(
        files,
        (size, size),
        label_mapper=PALETTE.tf_apply,
        batch_size=batch,
        cache=cache,
        check=False,
    )
    start = time.perf_counter()
    n = sum(int(x.shape[0]) for x, _ in ds)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    for _ in ds:
        pass
    return n, cold, time.perf_counter() - start


def main() -> None:
    """Run both and print pairs per second and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="dataset folder (default: $CITYSCAPES_DATA or ../shared/data)"
    )
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N files (0 = all)")
    args = ap.parse_args()
    files = data.list_images(
        data.locate_split_dirs(data.resolve_root(args.data, fallback=data.SHARED_DATA))[0]
    )
    files = files[: args.limit] if args.limit else files
    mapping = ColourMapping.palette()
    print(
        f"{len(files)} pairs from {args.data}, {args.size}x{args.size}, batch {args.batch}, "
        f"{os.cpu_count()} CPU cores"
    )

    opencv_loop(files[:32], args.size, mapping)  # warm-up
    start = time.perf_counter()
    n = opencv_loop(files, args.size, mapping)
    loop_s = time.perf_counter() - start
    n_tf, cold_s, warm_s = tfdata_pass(files, args.size, args.batch, cache=True)
    assert n == n_tf == len(files)

    loop_rate, cold_rate, warm_rate = n / loop_s, n / cold_s, n / warm_s
    print(f"plain OpenCV loop            : {loop_rate:8.1f} pairs/s ({loop_s:.1f} s)")
    print(f"tf.data pipeline, 1st epoch  : {cold_rate:8.1f} pairs/s ({cold_s:.1f} s)")
    print(f"tf.data pipeline, cached     : {warm_rate:8.1f} pairs/s ({warm_s:.1f} s)")
    print(
        f"ratio tf.data / OpenCV loop  : {cold_rate / loop_rate:.2f}x first epoch, "
        f"{warm_rate / loop_rate:.2f}x cached"
    )


if __name__ == "__main__":
    main()
