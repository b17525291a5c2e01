"""Label rims: how much of each class's labelled area is a thin band JPEG blur painted.

For every class, over pair files of a dataset, at the labels' own size (256x256) and at the
training size (128x128, nearest, as the input pipeline resizes them): its share of the labelled
pixels, the share of them a 3x3 opening of the class's mask removes (``utils.rims.rim_counts``),
and the images that hold the class before and after. A class whose pixels are mostly removed, in
most images, while its real objects are never that thin, is a rim class (``utils.rims``).

    python benchmarks/bench_label_rims.py --data ../shared/data/cityscapes_pairs --images 300

Writes ``label_rims.md`` and ``label_rims.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from utils import data, labels, rims, runio  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402


def label_ids(files: Sequence[Path], mapping: ColourMapping, size: int | None) -> Iterator:
    """Each file's label ids, at ``size`` (nearest, as the input pipeline resizes) or its own."""
    for path in files:
        photo, colours = data.read_pair(path)
        if size:  # the input pipeline's own resize
            colours = data.resize_pair(photo, colours, (size, size))[1].numpy()
        yield mapping.apply(colours)


def table(results: dict[str, dict[str, np.ndarray]], n: int, names: Sequence[str]) -> str:
    """Markdown: per class and size, pixel share, rim share and images before -> after."""
    sizes = list(results)
    head = "| class | " + " | ".join(f"{s}: share of pixels, rims, images" for s in sizes) + " |"
    lines = [head, "|---|" + "---|" * len(sizes)]
    for c, name in enumerate(names):
        cells = []
        for s in sizes:
            t = results[s]
            part = t["pixels"][c] / max(t["pixels"].sum(), 1)
            images = f"{t['images'][c]:.0f} -> {t['after'][c]:.0f} of {n}"
            cells.append(f"{part:.2%}, **{t['share'][c]:.0%}**, {images}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the rims on ``--images`` files drawn (seeded) from the training split."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/cityscapes_pairs", help="dataset folder")
    ap.add_argument("--images", type=int, default=300, help="pair files drawn from train")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench_label_rims", help="results folder")
    args = ap.parse_args(argv)
    out = runio.writable_dir(args.out)
    files = data.find_dataset(args.data).train
    pick = np.random.default_rng(args.seed).choice(len(files), min(args.images, len(files)), False)
    files = [files[i] for i in sorted(pick)]
    mapping = ColourMapping.palette()
    results = {
        name: rims.rim_counts(label_ids(files, mapping, size), mapping.num_classes)
        for name, size in (("256 (native)", None), ("128 (training)", 128))
    }
    text = table(results, len(files), labels.CLASS_NAMES)
    print(text)
    runio.atomic_write_bytes(out / "label_rims.md", (text + "\n").encode())
    runio.save_json(
        {"files": len(files), "seed": args.seed,
         "results": {s: {k: v.tolist() for k, v in t.items()} for s, t in results.items()}},
        out / "label_rims.json",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
