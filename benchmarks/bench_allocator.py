"""Training-step seconds under TensorFlow's two CPU allocators, side by side in alternating runs.

TensorFlow picks its allocator for CPU tensors once per process, when it allocates its first
tensor (``TF_CPU_ALLOCATOR_USE_BFC``, which ``utils`` sets to ``true``), so each measurement is
its own process: rounds alternate between the default allocator (``false``: every large tensor
back to the system when freed) and the caching BFC one (``true``), so that a change in machine
load hits both. Each process builds a recipe's model (``recipes.RECIPES``) at its input and
batch size, compiles it with its loss on Adam (no metric), and times training steps on random
data after warm-up steps; it reports the step's wall seconds, its CPU seconds in user and in
system mode, its minor page faults and the process's peak memory. The best round of each is
printed with its ratio to the default allocator's.

    python benchmarks/bench_allocator.py --rounds 4
    python benchmarks/bench_allocator.py --recipes wide128_dense wide64_dense
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ENV = "TF_CPU_ALLOCATOR_USE_BFC"
SETTINGS = {"default": "false", "BFC": "true"}  # label: the variable's value


def worker(recipe: str, steps: int, batch: int) -> dict:
    """Time ``steps`` training steps of ``recipe``'s model in this process; its figures."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipes import RECIPES

    from utils import budget, model, train
    from utils.colours import ColourMapping

    cfg = train.TrainConfig(**RECIPES[recipe])
    batch = batch or cfg.batch_size
    num_classes = ColourMapping.palette().num_classes
    net = model.build_unet(num_classes, cfg.input_shape, cfg.variant, **cfg.architecture)
    import keras

    net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=cfg.loss(num_classes, None))
    budget.step_seconds(net, batch, cfg.train_size, num_classes, steps=1)  # trace, warm up
    before = resource.getrusage(resource.RUSAGE_SELF)
    seconds = budget.step_seconds(net, batch, cfg.train_size, num_classes, steps)
    after = resource.getrusage(resource.RUSAGE_SELF)
    n = steps + 2  # step_seconds' two warm-up steps ran inside the rusage window too
    return {
        "step_s": seconds,
        "user_s": (after.ru_utime - before.ru_utime) / n,
        "system_s": (after.ru_stime - before.ru_stime) / n,
        "page_faults": (after.ru_minflt - before.ru_minflt) / n,
        "peak_mib": after.ru_maxrss / 1024,
        "allocator": os.environ.get(ENV, ""),
    }


def measure(recipe: str, value: str, steps: int, batch: int) -> dict:
    """One worker process with ``TF_CPU_ALLOCATOR_USE_BFC=value``; its figures."""
    cmd = [sys.executable, __file__, "--worker", "--recipes", recipe, "--steps", str(steps),
           "--batch", str(batch)]  # fmt: skip
    env = {**os.environ, ENV: value}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the {ENV}={value} worker for {recipe} failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["allocator"] != value:
        raise RuntimeError(f"the worker ran with {ENV}={figures['allocator']!r}, not {value!r}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[dict]]]:
    """Alternate worker processes under both allocators; print each round and the best. Returns
    every process's figures: recipe -> allocator label -> rounds."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=["wide128_dense"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per process")
    ap.add_argument("--batch", type=int, default=0, help="0: the recipe's batch size")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.recipes[0], args.steps, args.batch)))
        return {}
    measured = {}
    for recipe in args.recipes:
        runs: dict[str, list[dict]] = {label: [] for label in SETTINGS}
        measured[recipe] = runs
        for r in range(args.rounds):
            order = list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]
            for label in order:
                runs[label].append(measure(recipe, SETTINGS[label], args.steps, args.batch))
            print(f"{recipe} round {r + 1}: " + ", ".join(
                f"{k} {v[-1]['step_s']:.3f} s" for k, v in runs.items()), flush=True)  # fmt: skip
        base = min(f["step_s"] for f in runs["default"])
        print(f"{recipe}, per training step (best round; median step in brackets):")
        for label, figures in runs.items():
            best = min(figures, key=lambda f: f["step_s"])
            median = statistics.median(f["step_s"] for f in figures)
            print(
                f"  {label:8s} ({ENV}={SETTINGS[label]}): {best['step_s']:.3f} s "
                f"({median:.3f}) {best['step_s'] / base:.2f}x; CPU user {best['user_s']:.3f} s, "
                f"system {best['system_s']:.3f} s; {best['page_faults']:,.0f} page faults; "
                f"peak memory {best['peak_mib']:,.0f} MiB"
            )
    return measured


if __name__ == "__main__":
    main()
