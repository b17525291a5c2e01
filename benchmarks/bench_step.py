"""Training-step seconds of named recipes, with and without XLA, measured side by side.

Each recipe of ``recipes.RECIPES`` is built at its own input size and batch size
and compiled with its loss and Adam on its schedule, without the confusion-matrix metric (its
``bincount`` has no XLA kernel, so neither side has it): once as Keras compiles it on a CPU
(``jit_compile="auto"`` turns XLA off on CPU-only machines) and, with ``--jit``, once with
``jit_compile=True``, under each ``--precision`` policy. Steps run on random data
(``bench_training.py`` times the input pipeline); rounds alternate between all models so that a
change in machine load hits all, and the best round of each is printed with its ratio to the
first recipe without XLA.

    python benchmarks/bench_step.py --recipes standard separable default --jit
    python benchmarks/bench_step.py --recipes wide96 --precision float32 mixed_bfloat16
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from recipes import RECIPES  # noqa: E402

from utils import budget, model, train  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Time every (recipe, XLA) pair in alternating rounds; print seconds and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--recipes", nargs="+", default=["standard", "default"], choices=sorted(RECIPES)
    )
    ap.add_argument("--jit", action="store_true", help="also time each recipe compiled with XLA")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per round")
    ap.add_argument(
        "--precision",
        nargs="+",
        default=["float32"],
        help="Keras dtype policies to time each recipe under, e.g. float32 mixed_bfloat16",
    )
    args = ap.parse_args(argv)
    num_classes = ColourMapping.palette().num_classes
    nets: dict[str, tuple[keras.Model, train.TrainConfig]] = {}
    for name in args.recipes:
        cfg = train.TrainConfig(**RECIPES[name])
        for policy, jit in itertools.product(
            args.precision, (False, True) if args.jit else (False,)
        ):
            keras.utils.set_random_seed(0)
            keras.mixed_precision.set_global_policy(policy)
            start = time.perf_counter()
            net = model.build_unet(num_classes, cfg.size, cfg.variant, **cfg.architecture)
            net.compile(
                optimizer=keras.optimizers.Adam(cfg.learning_rate_schedule(100)),
                loss=cfg.loss(num_classes, None),
                jit_compile=jit,
            )
            budget.step_seconds(net, cfg.batch_size, cfg.train_size, num_classes, steps=1)
            keras.mixed_precision.set_global_policy("float32")
            label = f"{name}{'' if policy == 'float32' else ' ' + policy}{' + XLA' if jit else ''}"
            nets[label] = (net, cfg)
            traced = time.perf_counter() - start
            print(
                f"{label}: {net.count_params():,} parameters, batch {cfg.batch_size}, "
                f"{cfg.train_size[0]} px; first steps (tracing) {traced:.0f} s",
                flush=True,
            )
    seconds: dict[str, list[float]] = {k: [] for k in nets}
    for r in range(args.rounds):
        for label, (net, cfg) in nets.items():
            s = budget.step_seconds(net, cfg.batch_size, cfg.train_size, num_classes, args.steps)
            seconds[label].append(s)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in seconds.items()))
    base = min(next(iter(seconds.values())))
    print("best round, seconds per step (ratio to the first):")
    for label, v in seconds.items():
        print(f"  {label:28s} {min(v):.3f} s  {min(v) / base:.2f}x")


if __name__ == "__main__":
    main()
