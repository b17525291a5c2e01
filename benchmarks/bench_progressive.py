"""Progressive resizing, screened: model 2's first epochs on smaller photos, then its own size.

An epoch at 64 x 128 takes 0.47x the step of one at 96 x 192 here (``bench_step.py --recipes
wide96 wide64``), so 8 small epochs and 12 full-size ones cost about the default's 16. The
technique is fast.ai's (Howard & Gugger 2018). This probe trains one such run with the default
recipe (``wide96``: weight decay, photometric augmentation, Dice, one cosine schedule over all
the epochs), scores it after every epoch at native resolution on the held-out cities, and
writes the curve in ``bench_time_to_quality``'s format for comparison with its runs:

    python benchmarks/bench_progressive.py --early-epochs 8 --epochs 20 --out runs/ttq_prog

Keras traces the training step once per input shape it sees, but with a shape that changes
inside one ``fit`` it traces it for any size, and ``UpSampling2D`` then fails (Keras 3.15), so
the two phases are two ``fit`` calls on one model and one optimizer.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from bench_time_to_quality import RECIPES, NativeScore  # noqa: E402

from utils import budget, data, evaluate, model, runio, train  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Train the two phases, scoring after every epoch; write ``OUT/results.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="dataset folder (default: ../shared/data)")
    ap.add_argument("--recipe", default="wide96", choices=sorted(RECIPES))
    ap.add_argument("--epochs", type=int, default=20, help="all epochs, both phases")
    ap.add_argument("--early-epochs", type=int, default=8, help="epochs on smaller photos")
    ap.add_argument("--early-height", type=int, default=64, help="their height (width: 2x)")
    ap.add_argument("--out", default="runs/ttq_prog")
    args = ap.parse_args(argv)
    splits = data.find_dataset(data.resolve_root(args.data, fallback=data.SHARED_DATA))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mapping = ColourMapping.palette()
    cfg = train.TrainConfig(**RECIPES[args.recipe], epochs=args.epochs)
    ratio = cfg.size[1] / cfg.size[0]
    small = dataclasses.replace(
        cfg, image_size=args.early_height, image_width=int(args.early_height * ratio)
    )
    name = f"{args.recipe}_prog{args.early_epochs}"
    results = {name: {"recipe": dataclasses.asdict(cfg) | {"early_epochs": args.early_epochs,
               "early_size": list(small.size)}, "budget_minutes": 0, "curve": []}}  # fmt: skip
    entry = results[name]

    def record(epoch: int, minutes: float, miou: float, acc: float) -> None:
        point = {"epoch": epoch, "minutes": round(minutes, 2), "mean_iou": round(miou, 4)}
        entry["curve"].append(point | {"pixel_accuracy": round(acc, 4)})
        entry["train_minutes"] = round(minutes, 2)
        print(f"{name}: epoch {epoch}  {minutes:5.1f} min  native mIoU {miou:.4f}", flush=True)
        runio.save_json(results, out / "results.json")

    keras.utils.set_random_seed(cfg.seed)
    full = train.prepare(splits, mapping, cfg)
    early = train.prepare(splits, mapping, small, count_classes=False, check=False)
    net = model.build_unet(mapping.num_classes, (None, None), cfg.variant, **cfg.architecture)
    train.compile_model(net, cfg, mapping.num_classes, full.class_weights, full.steps_per_epoch)
    clock = budget.BudgetClock()  # logs train_minutes across both fits
    score = NativeScore(splits.val, mapping, cfg.size, record)
    fit = dict(callbacks=[clock, score], verbose=0, shuffle=False)  # shuffled by utils.data
    net.fit(early.train_ds, epochs=args.early_epochs, **fit)
    net.make_train_function(force=True)  # a fresh trace for the full-size photos
    net.fit(full.train_ds, initial_epoch=args.early_epochs, epochs=args.epochs, **fit)
    net.save(out / "model.keras")
    for tta in ("none", "flip"):  # the last epoch's model, as the benchmark's runs are read
        scores = evaluate.score_model(net, splits.val, mapping, cfg.size, tta=tta, check=False)
        entry[f"final_{tta}"] = scores
        print(f"{name}: TTA {tta}: native mIoU {scores['mean_iou']:.4f}", flush=True)
    runio.save_json(results, out / "results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
