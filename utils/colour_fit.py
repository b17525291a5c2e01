"""K-means colour mappings and honest measures of how well any colour mapping names pixels.

A k-means mapping clusters a seeded sample of label pixels (many images) into ``k`` colours. Each
cluster is named after the official colour nearest to its centre; clusters nearest a void colour
map to ``IGNORE_ID``, and clusters that share a name become one output class, so the output
classes are the official training classes the clusters stand for (in train-id order). Official
classes whose colour falls into another class's cluster are *absorbed* (a merge).

Agreement is measured on *named* pixels: those within ``NAMED_DISTANCE`` of an official colour,
the only pixels whose true class the colour tells us (JPEG blur makes the rest ambiguous).

    python -m utils.colour_fit --method palette --out mapping.json
    python -m utils.colour_fit --data DIR --method kmeans [--k 13] --out mapping.json

``--data`` is a dataset folder (its training split is sampled) or a plain folder of pair files.
Options are checked before any pixel is read: ``--k`` from 1 to ``MAX_K``, and the k-means
options (``--data``, ``--k``, ``--images``, ``--pixels``, ``--seed``) only with ``--method kmeans``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from utils import checks, labels, runio
from utils.colours import ColourMapping, nearest_centre
from utils.data import pair_files, read_pair
from utils.labels import NAMED_DISTANCE  # the same "named pixel" radius as notebook 01

VOID = "void"  # name of the void group in reports and agreement tables
N_INIT = 4  # k-means restarts (k-means++ seeding); the best inertia wins
DEFAULT_K = 13
MAX_K = 64  # 29 official colours; more clusters only split JPEG blur (k=64: ~40 s on 2 cores)
KMEANS_OPTIONS = ("data", "k", "images", "pixels", "seed")


# --------------------------------------------------------------------------- sampling
def sample_label_pixels(
    files: Sequence[Path], n_images: int, n_pixels: int, seed: int = 0, progress: bool = True
) -> np.ndarray:
    """``(N, 3)`` uint8 label colours: ``n_pixels`` drawn evenly from ``n_images`` seeded files."""
    if not files:
        raise ValueError("sample_label_pixels: no files to sample from")
    if n_images < 1 or n_pixels < 1:
        raise ValueError(f"need n_images >= 1 and n_pixels >= 1, got {n_images}, {n_pixels}")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(files), size=min(n_images, len(files)), replace=False))
    per_image = math.ceil(n_pixels / len(chosen))
    parts = []
    for i in tqdm(chosen, desc="sampling label pixels", disable=not progress, mininterval=1):
        flat = read_pair(files[i])[1].reshape(-1, 3)
        parts.append(flat[rng.choice(len(flat), size=min(per_image, len(flat)), replace=False)])
    return np.concatenate(parts)[:n_pixels]


def disjoint_samples(
    files: Sequence[Path], n_images: int, n_pixels: int, seed: int = 0, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A fitting and an evaluation pixel sample from two disjoint seeded halves of ``files``."""
    if len(files) < 2:
        raise ValueError(f"need at least 2 files for disjoint samples, got {len(files)}")
    order = np.random.default_rng(seed).permutation(len(files))
    half = len(files) // 2
    fit_files = [files[i] for i in order[:half]]
    eval_files = [files[i] for i in order[half:]]
    fit = sample_label_pixels(fit_files, n_images, n_pixels, seed, progress)
    evaluate = sample_label_pixels(eval_files, n_images, n_pixels, seed + 1, progress)
    return fit, evaluate


# --------------------------------------------------------------------------- k-means mappings
def mapping_from_centres(
    centres: np.ndarray, method: str = "kmeans", info: dict | None = None
) -> ColourMapping:
    """Name each centre after its nearest official colour; one output class per named class."""
    ref, ref_ids, ref_names = labels.reference_colours()
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 3)
    nearest = nearest_centre(centres, ref)
    official = ref_ids[nearest].astype(int)
    present = sorted(set(official.tolist()) - {labels.IGNORE_ID})
    out_id = {t: i for i, t in enumerate(present)}
    clusters = [
        {
            "centre": np.round(c, 2).tolist(),
            "nearest_official": ref_names[n],
            "distance": round(float(np.linalg.norm(c - ref[n])), 2),
            "class": labels.CLASS_NAMES[t] if t != labels.IGNORE_ID else VOID,
        }
        for c, n, t in zip(centres, nearest, official, strict=True)
    ]
    mapping = ColourMapping(
        method=method,
        centres=centres,
        centre_ids=[out_id.get(t, labels.IGNORE_ID) for t in official],
        class_names=[labels.CLASS_NAMES[t] for t in present],
        display_colours=labels.train_colours()[present].reshape(-1, 3),
        info={**(info or {}), "clusters": clusters},
    )
    mapping.info.update(merges(mapping))
    return mapping


def fit_kmeans(
    pixels: np.ndarray, k: int, seed: int = 0, n_init: int = N_INIT, sample: dict | None = None
) -> ColourMapping:
    """Cluster label colours with scikit-learn's KMeans (deterministic for a seed)."""
    from sklearn.cluster import KMeans

    x = np.asarray(pixels, dtype=np.float32).reshape(-1, 3)
    if not 1 <= k <= len(x):
        raise ValueError(f"k={k} must be between 1 and the number of sampled pixels ({len(x)})")
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
    shares = np.bincount(km.labels_, minlength=k) / len(x)
    order = np.argsort(-shares, kind="stable")  # largest cluster first, for readable reports
    info = {
        "k": k,
        "seed": seed,
        "n_init": n_init,
        "sample_pixels": len(x),
        **(sample or {}),
        "inertia_per_pixel": round(float(km.inertia_) / len(x), 3),
    }
    mapping = mapping_from_centres(km.cluster_centers_[order], "kmeans", info)
    for cluster, share in zip(mapping.info["clusters"], shares[order], strict=True):
        cluster["share"] = round(float(share), 5)
    return mapping


def merges(mapping: ColourMapping) -> dict:
    """Where every official colour goes under ``mapping`` (exact nearest centre).

    ``official_groups``: output class (or "void") -> official labels whose colour it takes;
    ``absorbed``: official training class -> the class (or "void") it is mapped to instead;
    ``merged``: output class -> the official training classes it takes, where there are several;
    ``void_classed``: official void label (e.g. parking) -> the class its colour is given.
    """
    ref, _, ref_names = labels.reference_colours()
    out = mapping.apply_direct(ref)  # exact nearest centre, not the quantised table
    names = [mapping.class_names[i] if i != labels.IGNORE_ID else VOID for i in out]
    groups: dict[str, list[str]] = {}
    for official, name in zip(ref_names, names, strict=True):
        groups.setdefault(name, []).append(official)
    train = set(labels.CLASS_NAMES)
    absorbed = {o: n for o, n in zip(ref_names, names, strict=True) if o in train and o != n}
    merged = {
        n: [o for o in members if o in train]
        for n, members in groups.items()
        if n != VOID and sum(o in train for o in members) >= 2
    }
    void_classed = {
        o: n for o, n in zip(ref_names, names, strict=True) if o not in train and n != VOID
    }
    return {
        "official_groups": groups,
        "absorbed": absorbed,
        "merged": merged,
        "void_classed": void_classed,
    }


# --------------------------------------------------------------------------- agreement
def reference_ids(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train id (void: ``IGNORE_ID``) of each pixel's nearest official colour, and the distance."""
    ref, ref_ids, _ = labels.reference_colours()
    x = np.asarray(pixels, dtype=np.float32).reshape(-1, 3)
    nearest = nearest_centre(x, ref)
    distance = np.linalg.norm(x - ref[nearest].astype(np.float32), axis=1)
    return ref_ids[nearest], distance


def agreement(
    mapping: ColourMapping, pixels: np.ndarray, palette: ColourMapping | None = None
) -> dict:
    """How often ``mapping`` gives a pixel its official class (named pixels) and the palette's.

    ``named_agreement``: share of named pixels (within ``NAMED_DISTANCE`` of an official colour)
    whose mapped class, read as an official train id, is that colour's (void counts as a class);
    ``class_recall``: the same per official class, and ``mean_class_recall`` their mean, so rare
    classes count as much as road; ``palette_agreement``: share of all pixels, blurred ones
    included, where the mapping and the palette mapping give the same official class.
    """
    palette = palette or ColourMapping.palette()
    x = np.asarray(pixels, dtype=np.uint8).reshape(-1, 3)
    ref, distance = reference_ids(x)
    named = distance <= NAMED_DISTANCE
    pred = mapping.to_official(mapping.apply(x))
    hit = pred == ref
    recall = {}
    for t, name in [*enumerate(labels.CLASS_NAMES), (labels.IGNORE_ID, VOID)]:
        sel = named & (ref == t)
        recall[name] = round(float(hit[sel].mean()), 4) if sel.any() else None
    present = [r for n, r in recall.items() if r is not None and n != VOID]
    return {
        "method": mapping.method,
        "k": mapping.info.get("k"),
        "num_classes": mapping.num_classes,
        "pixels": len(x),
        "named_share": round(float(named.mean()), 4),
        "named_agreement": round(float(hit[named].mean()), 4) if named.any() else None,
        "mean_class_recall": round(float(np.mean(present)), 4) if present else None,
        "palette_agreement": round(float((pred == palette.apply(x)).mean()), 4),
        "void_share": round(float((pred == labels.IGNORE_ID).mean()), 4),
        "class_recall": recall,
    }


def sweep(
    fit_pixels: np.ndarray, eval_pixels: np.ndarray, ks: Sequence[int], seed: int = 0
) -> list[dict]:
    """Fit k-means for every k; inertia on the fitting sample, agreement on the evaluation one."""
    palette = ColourMapping.palette()
    rows = []
    for k in tqdm(list(ks), desc="k-means over k", mininterval=1):
        mapping = fit_kmeans(fit_pixels, k, seed)
        row = agreement(mapping, eval_pixels, palette)
        row.update(
            inertia_per_pixel=mapping.info["inertia_per_pixel"],
            merged=mapping.info["merged"],
            absorbed=mapping.info["absorbed"],
        )
        rows.append(row)
    return rows


def elbow(ks: Sequence[int], inertia: Sequence[float]) -> int:
    """The k farthest below the straight line from the first to the last inertia point.

    Written by hand (the usual "knee" rule) because scikit-learn has no elbow finder; both axes
    are scaled to [0, 1] first so the answer does not depend on units.
    """
    k = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    if len(k) < 3:
        return int(k[np.argmin(y)])
    kn = (k - k.min()) / max(np.ptp(k), 1e-12)
    yn = (y - y.min()) / max(np.ptp(y), 1e-12)
    line = yn[0] + (yn[-1] - yn[0]) * kn  # the chord from the first to the last point
    return int(k[np.argmax(line - yn)])


def mapping_agreement_counts(
    rows: ColourMapping, cols: ColourMapping, pixels: np.ndarray
) -> np.ndarray:
    """Pixel counts of each (``rows`` class, ``cols`` class) pair; void is the last row/column."""
    x = np.asarray(pixels, dtype=np.uint8).reshape(-1, 3)
    r = rows.apply(x).astype(np.int64)
    c = cols.apply(x).astype(np.int64)
    r[r == labels.IGNORE_ID] = rows.num_classes
    c[c == labels.IGNORE_ID] = cols.num_classes
    n_r, n_c = rows.num_classes + 1, cols.num_classes + 1
    return np.bincount(r * n_c + c, minlength=n_r * n_c).reshape(n_r, n_c)


def summary_table(rows: Sequence[dict]) -> str:
    """Agreement rows (palette and k-means) as a fixed-width text table, one line per mapping."""
    lines = [
        f"{'mapping':<13}{'classes':>8}{'named':>9}{'class mean':>12}{'vs palette':>12}"
        f"{'inertia':>9}  absorbed official classes"
    ]
    for r in rows:
        name = f"k-means k={r['k']}" if r.get("k") else r["method"]
        absorbed = ", ".join(f"{o}->{n}" for o, n in r.get("absorbed", {}).items()) or "-"
        inertia = f"{r['inertia_per_pixel']:.1f}" if "inertia_per_pixel" in r else "-"
        lines.append(
            f"{name:<13}{r['num_classes']:>8}{r['named_agreement']:>9.2%}"
            f"{r['mean_class_recall']:>12.2%}{r['palette_agreement']:>12.2%}{inertia:>9}"
            f"  {absorbed}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m utils.colour_fit ...``: build or fit a mapping and save it as JSON."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.colour_fit",
        description="Build (palette) or fit (kmeans) a colour mapping and save it as JSON.",
    )
    ap.add_argument("--data", help="dataset folder or folder of pair files (kmeans only)")
    ap.add_argument("--method", choices=("palette", "kmeans"), default="palette")
    ap.add_argument("--k", type=int, help=f"k-means clusters, 1 to {MAX_K} (default {DEFAULT_K})")
    ap.add_argument("--seed", type=int, help="seed of the pixel sample and k-means (default 0)")
    ap.add_argument("--images", type=int, help="images to sample pixels from (default 500)")
    ap.add_argument("--pixels", type=int, help="pixels in the sample (default 200000)")
    ap.add_argument("--out", required=True, help="JSON file to write (e.g. RUN_DIR/mapping.json)")
    args = ap.parse_args(argv)
    given = [f"--{name}" for name in KMEANS_OPTIONS if getattr(args, name) is not None]
    if args.method == "palette" and given:
        ap.error(f"{', '.join(given)} only apply to --method kmeans (the palette is fixed)")
    if args.method == "kmeans" and not args.data:
        ap.error("--method kmeans needs --data DIR")
    k = DEFAULT_K if args.k is None else args.k
    images = 500 if args.images is None else args.images
    pixels = 200_000 if args.pixels is None else args.pixels
    seed = 0 if args.seed is None else args.seed
    try:
        checks.whole("--k", k, 1)
        checks.number("--k", k, maximum=MAX_K)
        checks.whole("--images", images, 1)
        checks.whole("--pixels", pixels, k)
        checks.whole("--seed", seed, 0)
        out = runio.writable_file(args.out)
    except checks.ParameterError as e:
        ap.error(str(e))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.method == "palette":
        mapping = ColourMapping.palette()
    else:
        try:
            files = pair_files(args.data, "train")
            sample = sample_label_pixels(files, images, pixels, seed, progress=sys.stderr.isatty())
        except ValueError as e:  # DatasetError too: it names the file or folder
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"fitting k-means: k={k} on {len(sample)} pixels, {N_INIT} restarts ...", flush=True)
        start = time.perf_counter()
        mapping = fit_kmeans(sample, k, seed)
        print(f"fitted in {time.perf_counter() - start:.0f} s")
    path = mapping.save(out)
    merged = mapping.info.get("absorbed", {})
    print(f"{mapping.method}: {mapping.num_classes} classes -> {path}")
    if merged:
        print("official classes absorbed by another class:", merged)
    return 0


if __name__ == "__main__":
    sys.exit(main())
