"""How steady is the budget's step timing? Times model 2's training step on the real pipeline.

``TRAIN_MINUTES`` plans its epochs from a few training steps timed on the run's own (cached,
augmented) training batches (``utils.budget.step_seconds``). This times the same steps several
times over with a short and a long sample, and prints what each would plan for a budget: the
spread says how far a plan can be off on this machine at one moment (which is why
``utils.budget.BudgetClock`` re-plans a run from its own epochs, shorter or longer):

    python benchmarks/bench_budget_timing.py --data ../shared/data/cityscapes_pairs --steps 8 32
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from utils import budget, data, model, train  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402
from utils.config import TrainConfig  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Time ``--repeats`` samples of each step count; print seconds and the epochs they plan."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CITYSCAPES_DATA", "../shared/data"))
    ap.add_argument("--steps", nargs="+", type=int, default=[8, 32])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=33.0)
    args = ap.parse_args(argv)
    mapping = ColourMapping.palette()
    cfg = TrainConfig(variant="model2", image_size=128, train_minutes=args.minutes)
    prep = train.prepare(data.find_dataset(args.data), mapping, cfg, check=False)
    steps = prep.steps_per_epoch
    net = model.build_unet(mapping.num_classes, cfg.size, cfg.variant, **cfg.architecture)
    train.compile_model(net, cfg, mapping.num_classes, None, steps)
    for n in args.steps:
        for _ in range(args.repeats):
            timed = prep.train_ds.repeat().take(n + 2)
            s = budget.step_seconds(net, cfg.batch_size, cfg.size, mapping.num_classes, n, timed)
            plan = budget.epochs_for(args.minutes, s, steps)
            print(f"{n:3d} steps: {s:.3f} s per step, {s * steps / 60:.2f} min per epoch of "
                  f"{steps} steps: {plan} epochs in {args.minutes:g} min", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
