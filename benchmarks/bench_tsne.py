"""t-SNE speed: PCA to 50 dims + t-SNE of 5000 points of 128-dim features vs a 60 s budget.

Features are real bottleneck cells (stratified by class, as notebook 05 samples them) when a
trained model folder and the data are given, else random clustered data of the same size
(19 Gaussian clusters in 128 dimensions). Several ``--jobs`` values are timed side by side.

    python benchmarks/bench_tsne.py [--model-dir RUN_DIR/models/model1 --data DIR]
                                    [--points 5000] [--perplexity 30] [--jobs 1 2]

The notebooks use ``utils.features.TSNE_JOBS`` threads.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from utils import data, features, model  # noqa: E402

BUDGET_S = 60.0
CHANNELS = 128  # model 1's bottleneck width
N_CLUSTERS = 19


def clustered(n: int, seed: int) -> np.ndarray:
    """Random clustered stand-in for bottleneck features: (n, 128) float32, ReLU-like."""
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n, CHANNELS, centers=N_CLUSTERS, cluster_std=3.0, random_state=seed)
    return np.maximum(x, 0).astype(np.float32)


def real_cells(model_dir: Path, data_dir: str | None, n: int, seed: int) -> np.ndarray:
    """Stratified sample of ``n`` bottleneck cells of validation (then train) images."""

    net, mapping, config = model.load_trained(model_dir)
    splits = data.find_dataset(data.resolve_root(data_dir, fallback=data.SHARED_DATA))
    size = tuple(config["input_size"])
    cells_per_image = (size[0] // 16) * (size[1] // 16)
    files = (splits.val + splits.train)[: 3 * n // cells_per_image + 1]
    ds = data.make_dataset(files, size, label_mapper=mapping.tf_apply, batch_size=32, cache=False)
    photos, ids = features.collect(ds)
    cells = features.bottleneck_cells(net, photos, ids, mapping.num_classes)
    return cells.features[features.stratified_sample(cells.labels, n, seed)]


def main() -> None:
    """Time PCA + t-SNE for each ``--jobs`` value; print seconds and the ratio to the budget."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, help="trained model folder (default: random data)")
    ap.add_argument(
        "--data", default=None, help="dataset folder (default: $CITYSCAPES_DATA or ../shared/data)"
    )
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--perplexity", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="thread counts to time")
    args = ap.parse_args()
    if args.model_dir:
        x = real_cells(args.model_dir, args.data, args.points, args.seed)
        source = f"bottleneck cells of {args.model_dir}"
    else:
        x = clustered(args.points, args.seed)
        source = f"random clustered data ({N_CLUSTERS} clusters)"
    print(
        f"{len(x)} points x {x.shape[1]} dims from {source}; perplexity {args.perplexity}; "
        f"{os.cpu_count()} CPU cores"
    )
    for jobs in args.jobs:
        start = time.perf_counter()
        features.embed(x, args.perplexity, args.seed, n_jobs=jobs)
        seconds = time.perf_counter() - start
        print(
            f"PCA-50 + t-SNE, n_jobs={jobs}: {seconds:6.1f} s  = {seconds / BUDGET_S:.2f} x "
            f"the {BUDGET_S:.0f} s budget"
        )


if __name__ == "__main__":
    main()
