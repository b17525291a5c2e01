"""Time to quality: validation mIoU against minutes of training, named recipes side by side.

Each recipe trains on the real train split (``../shared/data/cityscapes_pairs`` by default) with
the project's own ``utils.train.train`` for a wall-clock budget, and after every epoch its model is
scored at native resolution (logits resized to the labels' 256x256, as ``utils.predict`` writes
them) on the held-out part: the last whole cities of the train list (``utils.data`` default), so
the number predicts quality on unseen cities. The training clock counts only the epochs' training
steps (not validation, scoring or figures). Each recipe's epoch count is fitted to the budget from
a short timing of its train step on this machine (``TrainConfig.train_minutes``, the same
``utils.budget`` a user's ``--minutes`` run gets), and re-planned from its epochs' own pace by
``utils.budget.BudgetClock``: if the machine is slower than timed, the run ends earlier rather
than overrun the budget by more than 5 %; if faster, early in the run, it goes on longer. Either
way its learning-rate schedule is re-fitted to end with it.

The recipes live in ``benchmarks/recipes.py``. The first recipe named is the baseline (by
default ``BASELINE_RECIPE``, the README's recipe before ``DEFAULT_RECIPE``, which the README's
real-data command now trains); the table gives each recipe's final and best mIoU, and the
minutes it needed to reach the baseline's final score (and the ratio to the baseline's
minutes). A plot of mIoU against minutes and ``results.json`` (rewritten after every epoch, so a
stopped run keeps what it measured) go to ``--out``, and each recipe's model folder to
``OUT/runs/<recipe>/models/<variant>`` (score it with ``python -m utils.evaluate``).

    python benchmarks/bench_time_to_quality.py --minutes 33 --recipes wide128_prog wide128_prog_zoom
    python benchmarks/bench_time_to_quality.py --minutes 8 --recipes default stem128 crop256
    python benchmarks/bench_time_to_quality.py --epochs 10 --recipes default lr8e3

``--epochs N`` trains every recipe for N epochs instead: for recipes of one step cost (a learning
rate), whose comparison a budget would only blur (on a shared machine, the epochs fitted to the
same budget can differ by two or three, and with them the schedule's length).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "agg")

import keras  # noqa: E402
from recipes import BASELINE_RECIPE, DEFAULT_RECIPE, RECIPES  # noqa: E402

from utils import data, devices, evaluate, history, metrics, runio, train  # noqa: E402
from utils.colours import ColourMapping  # noqa: E402


class NativeScore(keras.callbacks.Callback):
    """After every epoch: mIoU at native resolution on the held-out files, with the training
    minutes ``utils.train``'s budget clock logged."""

    def __init__(self, files, mapping, size, record) -> None:  # noqa: ANN001
        super().__init__()
        self.files, self.mapping, self.size, self.record = files, mapping, size, record
        self.planned = 0  # the epochs ``utils.train``'s budget clock plans (its last plan)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.planned = int(logs.get("epochs_planned") or self.params["epochs"])
        cm = evaluate.confusion_matrices(
            self.model, self.files, self.mapping, self.size, progress=False, check=False
        )["native"]
        s = metrics.scores(cm)
        self.record(epoch + 1, logs["train_minutes"], s["mean_iou"], s["pixel_accuracy"])


def resumable(results: dict, name: str, out: Path) -> int | None:
    """With ``--resume``: the epochs an interrupted run of ``name`` in ``out`` finished (its
    ``results.json`` curve cut to them), 0 to train it afresh, or None when it finished."""
    backup = runio.model_dir(out / "runs" / name, RECIPES[name]["variant"]) / "backup"
    done = history.backup_epoch(backup)
    if name in results and results[name]["curve"] and not done:
        return None  # a finished run clears its backup
    if name in results:
        results[name]["curve"] = [p for p in results[name]["curve"] if p["epoch"] <= done]
    return done


def run_recipe(  # noqa: ANN201
    name: str,
    splits: data.Splits,
    budget_min: float,
    out: Path,
    results: dict,
    epochs: int = 0,
    resume: bool = False,
):
    """Train one recipe for the budget (or for ``epochs``), scoring after every epoch; fills
    ``results[name]``. With ``resume``, an interrupted run goes on after its last epoch."""
    mapping = ColourMapping.palette()
    strategy = devices.choose_strategy()
    # utils.train fits the epochs to the budget, timing steps on the recipe's own input pipeline
    # (or, with ``epochs``, for exactly that many: no budget, so the schedule is the same length)
    cfg = train.TrainConfig(
        **RECIPES[name],
        **({"epochs": epochs} if epochs else {"train_minutes": budget_min}),
        stop_patience=10**6,
    )
    earlier = results.get(name, {}) if resume else {}  # its curve and first plan go on
    entry = results[name] = {
        **earlier,
        "recipe": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "epochs"},
        "budget_minutes": 0 if epochs else budget_min,
        "curve": earlier.get("curve", []),
    }

    def record(epoch: int, minutes: float, miou: float, acc: float) -> None:
        if epoch == 1:
            entry["epochs_first_planned"] = score.planned
            fit = f"for {epochs} epochs" if epochs else f"fit {budget_min:g} minutes"
            print(f"{name}: {score.planned} epochs {fit}", flush=True)
        entry["epochs_planned"] = score.planned
        entry["curve"].append(
            {
                "epoch": epoch,
                "minutes": round(minutes, 2),
                "mean_iou": round(miou, 4),
                "pixel_accuracy": round(acc, 4),
            }
        )
        entry["train_minutes"] = round(minutes, 2)
        print(f"{name}: epoch {epoch}  {minutes:5.1f} min  native mIoU {miou:.4f}", flush=True)
        runio.save_json(results, out / "results.json")

    score = NativeScore(splits.val, mapping, cfg.size, record)
    run_dir = out / "runs" / name  # the trained model stays: utils.evaluate can score it
    train.train(
        splits,
        run_dir,
        cfg,
        mapping=mapping,
        snapshot_dir=run_dir / "snapshots",
        strategy=strategy,
        verbose=0,
        resume=resume,
        extra_callbacks=[score],
    )


def minutes_to_reach(curve: list[dict], target: float) -> float | None:
    """Training minutes at the first epoch scoring at least ``target`` (None if never)."""
    return next((p["minutes"] for p in curve if p["mean_iou"] >= target), None)


def table(results: dict, baseline: str) -> str:
    """The comparison table (Markdown): final and best scores, the score each recipe had within
    the baseline's training minutes (fair when budgets were overrun by different amounts), and
    the minutes it needed to reach the baseline's final score."""
    base = results[baseline]["curve"]
    target = base[-1]["mean_iou"] if base else float("nan")
    base_total = base[-1]["minutes"] if base else float("nan")
    base_min = minutes_to_reach(base, target)
    lines = [
        f"baseline: {baseline}, final native mIoU {target:.4f} after {base_total:.1f} min",
        "| recipe | epochs | train min | final mIoU | best mIoU | mIoU within baseline's min "
        "| min to baseline's final | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        c = r["curve"]
        if not c:
            continue
        m = minutes_to_reach(c, target)
        ratio = f"{m / base_min:.2f}" if m is not None and base_min else "-"
        within = [p["mean_iou"] for p in c if p["minutes"] <= base_total]
        lines.append(
            f"| {name} | {len(c)} | {c[-1]['minutes']:.1f} | {c[-1]['mean_iou']:.4f} | "
            f"{max(p['mean_iou'] for p in c):.4f} | {max(within) if within else float('nan'):.4f} "
            f"| {'-' if m is None else f'{m:.1f}'} | {ratio} |"
        )
    return "\n".join(lines)


def plot(results: dict, path: Path, budget: str, x: str = "minutes") -> None:
    """mIoU against training ``x`` ("minutes", or "epoch" for fixed-epoch runs, whose minutes
    need not compare), one line per recipe."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, r in results.items():
        c = r["curve"]
        if c:
            ax.plot([0] + [p[x] for p in c], [0] + [p["mean_iou"] for p in c], "o-", label=name)
    ax.set(
        xlabel="training minutes on this machine" if x == "minutes" else "epoch",
        ylabel="mIoU (native 256x256, held-out cities)",
        title=f"Time to quality, {budget}",
    )
    ax.grid(alpha=0.3)
    ax.legend(title="recipe")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default=None, help="dataset folder (default: $CITYSCAPES_DATA or ../shared/data)"
    )
    ap.add_argument("--minutes", type=float, default=8.0, help="training budget per recipe")
    ap.add_argument(
        "--recipes",
        nargs="+",
        default=[BASELINE_RECIPE, DEFAULT_RECIPE],
        choices=sorted(RECIPES),
        metavar="RECIPE",
        help=f"names from benchmarks/recipes.py, the first the baseline (default: {BASELINE_RECIPE}"
        f" {DEFAULT_RECIPE}); a wrong name lists them all",
    )
    ap.add_argument(
        "--epochs",
        type=int,
        default=0,
        help="train every recipe for N epochs instead of a budget: for recipes of one step cost "
        "(a learning rate, a loss weight), compared epoch by epoch on schedules of one length",
    )
    ap.add_argument("--max-train", type=int, default=0, help="use at most N training pairs")
    ap.add_argument("--out", default="runs/bench_time_to_quality", help="results folder")
    ap.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted run in --out: finished recipes are kept, a stopped one "
        "resumes after its last finished epoch (its curve kept from results.json)",
    )
    args = ap.parse_args(argv)
    splits = data.find_dataset(data.resolve_root(args.data, fallback=data.SHARED_DATA))
    if args.max_train:
        splits = dataclasses.replace(splits, train=splits.train[: args.max_train])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(splits.train)} training pairs; scored on {len(splits.val)}: {splits.layout}")
    saved = out / "results.json"
    results: dict = runio.load_json(saved) if args.resume and saved.is_file() else {}
    for name in args.recipes:
        done = resumable(results, name, out) if args.resume else 0
        if done is None:
            print(f"{name}: finished in an earlier run, kept")
            continue
        run_recipe(name, splits, args.minutes, out, results, args.epochs, resume=bool(done))
    runio.save_json(results, out / "results.json")  # with the last recipe's train_minutes
    text = table(results, args.recipes[0])
    print(text)
    (out / "table.md").write_text(text + "\n")
    each = f"{args.epochs} epochs each" if args.epochs else f"{args.minutes:g}-minute budget"
    plot(results, out / "time_to_quality.png", each, "epoch" if args.epochs else "minutes")
    print(f"saved {out}/results.json, table.md, time_to_quality.png")
    json.dumps(results)  # fail loudly here rather than in a later reader
    return 0


if __name__ == "__main__":
    sys.exit(main())
