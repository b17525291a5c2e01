"""Run the numbered notebooks headless, in order, with papermill.

    python -m utils.series --data synthetic --out runs/synthetic
    python -m utils.series --data ../shared/data/cityscapes_pairs --out runs/real \\
        --only 01 -p MAX_IMAGES=0

Executed notebooks go to ``<out>/executed/``; every notebook gets ``DATA_DIR`` and ``RUN_DIR``
(absolute) plus the ``-p`` parameters it declares. Before any kernel starts, ``--data``,
``--out`` and every ``-p`` value are checked (type as the notebook's declared default, range,
and training parameters by ``TrainConfig.check``). The console shows each notebook, each code
cell as it starts, one line per training epoch and the notebooks' warnings, never ``\\r``
progress bars; a kernel's own stderr (Jupyter and TensorFlow start-up lines) goes to
``<out>/executed/<notebook>.kernel.log``. The run stops at the first failing notebook and names
it and the failing cell, and after a notebook whose metrics list problem files.

Notebooks that need only an earlier notebook's hand-over files (``NEEDS``: 05 and 06 read the
models of 03, as 04 does) run beside each other, up to ``--jobs`` at a time, each console line
tagged with its notebook's number; all others wait for the notebook before them.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from utils import checks, data, notebook, runio
from utils.console import Console, cell_summaries
from utils.notebook import SYNTHETIC

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PROJECT_KERNEL = "cityscapes-unet"  # registered by `make install` (python -m ipykernel install)
# Kernel environment defaults (a value set in the environment wins): figures to files only, no
# TensorFlow C++ info/warning/error lines (absl, oneDNN, CUDA probing, cuInit).
KERNEL_ENV = {"MPLBACKEND": "agg", "TF_CPP_MIN_LOG_LEVEL": "3"}
# IPC sockets: no "[IPKernelApp] WARNING | Kernel is running over TCP without encryption".
# Their files go to a temporary folder per notebook (by default they are made in the kernel's
# working directory, the notebooks folder, and jupyter_client leaves them there).
KERNEL_CONFIG = {"KernelManager": {"transport": "ipc"}}
# C-level output (TensorFlow's absl lines before any setting applies) stays on the kernel's own
# stderr, i.e. its log file, instead of being copied into the notebook's outputs.
KERNEL_ARGS = ["--IPKernelApp.capture_fd_output=False"]
# The notebook each one needs, where that is not the notebook just before it: these read only
# the models of 03, so 04, 05 and 06 can run side by side once 03 is done.
NEEDS = {"05": "03", "06": "03"}
# Notebooks run side by side by default: one per core, at most the three that can. On 2 cores
# 04-06 (mostly single-threaded start-up and plotting) took 67 s one after another, 39 s two at
# a time and 47 s three at once.
JOBS = min(3, os.cpu_count() or 1)


class NotebookFailed(RuntimeError):
    """A notebook of the series raised; the message names it and the failing cell."""


def list_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks ``NN_name.ipynb`` of a folder, in order."""
    found = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"{folder}: no numbered notebooks (NN_name.ipynb)")
    return found


def select(
    notebooks: Sequence[Path], only: Sequence[str] = (), start: str | None = None
) -> list[Path]:
    """Pick notebooks by number prefix: ``only`` (e.g. ["01", "03"]) or ``start`` onwards."""
    numbers = {nb.name[:2]: nb for nb in notebooks}
    for n in [*only, *([start] if start else [])]:
        if n.zfill(2) not in numbers:
            raise ValueError(f"no notebook numbered {n!r}; have {', '.join(numbers)}")
    chosen = list(notebooks)
    if only:
        wanted = {n.zfill(2) for n in only}
        chosen = [nb for nb in chosen if nb.name[:2] in wanted]
    if start:
        chosen = [nb for nb in chosen if nb.name[:2] >= start.zfill(2)]
    return chosen


def waves(notebooks: Sequence[Path], needs: dict[str, str] | None = None) -> list[list[Path]]:
    """``notebooks`` in groups that can run side by side, in order. A notebook waits for the one
    before it; one in ``needs`` (default ``NEEDS``) only for the last one up to what it needs."""
    needs = NEEDS if needs is None else needs
    level: dict[str, int] = {}
    groups: list[list[Path]] = []
    for nb in notebooks:
        number = nb.name[:2]
        earlier = [n for n in level if n <= needs.get(number, number)]
        level[number] = level[max(earlier)] + 1 if earlier else 0
        if level[number] == len(groups):
            groups.append([])
        groups[level[number]].append(nb)
    return groups


def parse_parameter(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (NAME, value); the value is a Python literal when it parses as one."""
    name, sep, raw = text.partition("=")
    if not sep or not name.isidentifier():
        raise ValueError(f"parameter {text!r} is not NAME=VALUE")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if isinstance(value, tuple):  # "4,13,19" is meant as the string papermill would pass
        value = raw
    return name, value


def default_kernel() -> str:
    """The project's registered kernel if present, else ``python3``."""
    from jupyter_client.kernelspec import find_kernel_specs

    return PROJECT_KERNEL if PROJECT_KERNEL in find_kernel_specs() else "python3"


# --------------------------------------------------------------------------- checks up front
def check_data(data_arg: str) -> None:
    """``--data`` is "synthetic", "kaggle", a dataset folder or a plain folder of pairs."""
    if data_arg not in (SYNTHETIC, "kaggle"):
        data.find_dataset(data_arg)  # names the folder and what is missing


def check_training(nb: Path, declared: dict, given: dict) -> None:
    """Training parameters of a notebook that declares ``VARIANT``, as ``TrainConfig.check``.

    A parameter whose lower-case name is a ``TrainConfig`` field (``IMAGE_SIZE``, ``EPOCHS``,
    ...) is checked with the notebook's other such values, for each variant trained.
    """
    notebook.quiet_tensorflow()  # the runner's console stays free of TensorFlow's start-up lines
    from utils import model, train  # imports TensorFlow: only when training parameters are given

    names = {f.name for f in dataclasses.fields(train.TrainConfig)}
    values = {}
    for name, info in declared.items():
        if name.lower() in names:
            try:
                values[name.lower()] = ast.literal_eval(info["default"])
            except (ValueError, SyntaxError):
                continue
    values.update({k.lower(): v for k, v in given.items() if k.lower() in names})
    variant = values.pop("variant", "model1")
    try:
        checks.choice("variant", variant, (*model.VARIANTS, "both"))
        for v in model.VARIANTS if variant == "both" else (variant,):
            train.TrainConfig(variant=v, **values).check()
    except checks.ParameterError as e:
        why = f"{e.allowed} ({nb.name}, VARIANT={variant!r})"
        raise checks.ParameterError(f"-p {e.name.upper()}", e.value, why) from None


def check_parameters(declared: dict[Path, dict], given: dict) -> None:
    """Every ``-p`` value against each notebook that declares it; unknown names refused."""
    unknown = set(given) - {name for params in declared.values() for name in params}
    if unknown:
        raise ValueError(f"parameters {sorted(unknown)} are declared by none of the notebooks run")
    for nb, params in declared.items():
        mine = {k: v for k, v in given.items() if k in params}
        for name, value in mine.items():
            try:
                checks.notebook_parameter(name, value, params[name]["default"])
            except checks.ParameterError as e:
                why = f"{e.allowed} ({nb.name})"
                raise checks.ParameterError(f"-p {name}", value, why) from None
        if "VARIANT" in params and mine:  # a training notebook
            check_training(nb, params, mine)


def problem_files(out: Path, nb: Path) -> list[dict]:
    """The ``problems`` listed in ``RUN_DIR/metrics/<notebook>.json`` (notebook 01: bad files)."""
    path = runio.metrics_path(out, nb.stem)
    numbers = runio.load_json(path) if path.is_file() else {}
    return list(numbers.get("problems", [])) if isinstance(numbers, dict) else []


def kernel_manager(kernel: str, log_file, sockets: Path):  # noqa: ANN001, ANN201 - jupyter_client
    """A kernel manager whose kernel gets ``KERNEL_ENV``, writes its own stderr to a file and
    makes its IPC socket files in the folder ``sockets``."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets.config import Config

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw) -> None:  # noqa: ANN003
            kw["env"] = {**KERNEL_ENV, **kw.get("env", os.environ)}
            kw["stderr"] = log_file  # Popen argument of jupyter_client's launcher
            await super().start_kernel(**kw)

    config = Config(KERNEL_CONFIG)
    config.KernelManager.ip = str(Path(sockets) / "kernel")  # the socket files' path prefix
    return QuietKernelManager(kernel_name=kernel, config=config)


# --------------------------------------------------------------------------- the run
def execute(nb: Path, target: Path, params: dict, kernel: str, tag: str = "") -> float:
    """Execute one notebook with papermill into ``target``, its console lines tagged with ``tag``;
    seconds taken. Raises ``NotebookFailed`` naming the notebook and the failing cell."""
    import papermill as pm

    print(f"{tag}== {nb.name}  {params}", flush=True)
    start = time.perf_counter()
    logger = logging.getLogger("papermill")
    console = Console(cell_summaries(nb, bool(params)), tag)
    saved = (logger.level, logger.propagate, logger.disabled)
    logger.addHandler(console)
    logger.setLevel(logging.INFO)
    logger.propagate, logger.disabled = False, False  # disabled by some logging.config users
    try:
        with (
            open(target.with_suffix(".kernel.log"), "wb") as kernel_log,
            tempfile.TemporaryDirectory(prefix="kernel-") as sockets,
        ):
            pm.execute_notebook(
                str(nb), str(target), parameters=params, kernel_name=kernel,
                cwd=str(nb.parent), progress_bar=False, log_output=True,
                km=kernel_manager(kernel, kernel_log, Path(sockets)),
                extra_arguments=KERNEL_ARGS,
            )  # fmt: skip
    except pm.PapermillExecutionError as e:
        raise NotebookFailed(
            f"{nb.name} failed in cell {e.cell_index} (execution count {e.exec_count}): "
            f"{e.ename}: {e.evalue}\n  executed copy with the traceback: {target}"
        ) from None
    finally:
        logger.removeHandler(console)
        logger.level, logger.propagate, logger.disabled = saved
    seconds = round(time.perf_counter() - start, 1)
    print(f"{tag}   done in {seconds} s -> {target}", flush=True)
    return seconds


def execute_side_by_side(runs: list[tuple], jobs: int) -> list[float | NotebookFailed]:
    """``execute`` for each (nb, target, params, kernel), up to ``jobs`` at a time in their own
    processes; each one's seconds or its ``NotebookFailed``, in order. All of them run to the
    end: they do not depend on each other, so what the others finish stays valid."""
    # Processes, not threads: papermill's logger and each kernel's client are per process.
    # "spawn": the runner may have imported TensorFlow to check parameters, which forking breaks.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(min(jobs, len(runs)), mp_context=context) as pool:
        futures = [pool.submit(execute, *run, f"[{run[0].name[:2]}] ") for run in runs]
        outcomes: list[float | NotebookFailed] = []
        for run, future in zip(runs, futures, strict=True):
            try:
                outcomes.append(future.result())
            except NotebookFailed as e:
                outcomes.append(e)
            except concurrent.futures.process.BrokenProcessPool:
                why = "its runner process died (killed, or out of memory)"
                outcomes.append(NotebookFailed(f"{run[0].name} failed: {why}"))
    return outcomes


def run_series(
    data: str,
    out: str | os.PathLike,
    notebooks: Sequence[Path] | None = None,
    parameters: dict | None = None,
    kernel: str | None = None,
    jobs: int = JOBS,
    needs: dict[str, str] | None = None,
) -> list[dict]:
    """Execute ``notebooks`` (default: all) in order, those that do not need each other up to
    ``jobs`` at a time (``waves``); raise ``NotebookFailed`` on an error.

    ``--data``, ``out`` and ``parameters`` are checked first, before any kernel starts.
    """
    check_data(data)
    out = runio.writable_dir(Path(out).resolve())
    import papermill as pm

    data_arg = data if data in (SYNTHETIC, "kaggle") else str(Path(data).resolve())
    notebooks = list(notebooks) if notebooks is not None else list_notebooks()
    extra = dict(parameters or {})
    declared = {nb: pm.inspect_notebook(str(nb)) for nb in notebooks}
    check_parameters(declared, extra)
    kernel = kernel or default_kernel()
    results = []
    for wave in waves(notebooks, needs):
        runs = []
        for nb in wave:
            given = {"DATA_DIR": data_arg, "RUN_DIR": str(out), **extra}
            params = {k: v for k, v in given.items() if k in declared[nb]}
            target = runio.executed_dir(out) / nb.name
            target.parent.mkdir(parents=True, exist_ok=True)
            runs.append((nb, target, params, kernel))
        if len(runs) > 1 and jobs > 1:
            outcomes = execute_side_by_side(runs, jobs)
        else:  # one after another, each recorded and checked before the next starts
            outcomes = (execute(*run) for run in runs)
        for (nb, _, params, _), outcome in zip(runs, outcomes, strict=True):
            if isinstance(outcome, NotebookFailed):
                raise outcome
            results.append({"notebook": nb.name, "seconds": outcome, "parameters": params})
            runio.save_json(results, out / "series.json")
            problems = problem_files(out, nb)
            if problems:
                listed = "\n".join(f"  {p['file']}: {p['problem']}" for p in problems)
                raise NotebookFailed(
                    f"{nb.name} found {len(problems)} problem files; remove or replace them "
                    f"(utils.train and utils.evaluate can --skip-bad-files):\n{listed}"
                )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.series",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--data",
        default=SYNTHETIC,
        help="dataset folder, 'synthetic' (default: generated sample) or 'kaggle'",
    )
    ap.add_argument("--out", default="runs/default", help="run folder (default runs/default)")
    ap.add_argument("--only", nargs="+", default=(), metavar="NN", help="run only these numbers")
    ap.add_argument("--from", dest="start", metavar="NN", help="start at this notebook number")
    ap.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="notebook parameter, passed to every notebook that declares it",
    )
    ap.add_argument("--kernel", help=f"Jupyter kernel (default {PROJECT_KERNEL} or python3)")
    ap.add_argument(
        "--jobs",
        type=int,
        default=JOBS,
        metavar="N",
        help=f"notebooks run side by side where they do not need each other (default {JOBS}; "
        "1: one after another)",
    )
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        chosen = select(list_notebooks(args.notebooks), args.only, args.start)
        params = dict(parse_parameter(p) for p in args.parameter)
        start = time.perf_counter()
        results = run_series(args.data, args.out, chosen, params, args.kernel, args.jobs)
    except (NotebookFailed, ValueError, OSError) as e:
        print(f"series failed: {e}", file=sys.stderr)
        return 1
    total = time.perf_counter() - start  # wall clock: notebooks may have run side by side
    print(f"series finished: {len(results)} notebooks in {total:.0f} s; run folder {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
