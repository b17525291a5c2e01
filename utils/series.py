"""Run the numbered notebooks headless, in order, with papermill.

    python -m utils.series --data synthetic --out runs/synthetic
    python -m utils.series --data ../shared/data/cityscapes_pairs --out runs/real \\
        --only 01 -p MAX_IMAGES=0

Executed notebooks go to ``<out>/executed/``; every notebook gets ``DATA_DIR`` and ``RUN_DIR``
(absolute) plus the ``-p`` parameters it declares. The run stops at the first failing notebook
and names it and the failing cell.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from utils import runio
from utils.notebook import SYNTHETIC

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
PROJECT_KERNEL = "cityscapes-unet"  # registered by `make install` (python -m ipykernel install)


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


def run_series(
    data: str,
    out: str | os.PathLike,
    notebooks: Sequence[Path] | None = None,
    parameters: dict | None = None,
    kernel: str | None = None,
) -> list[dict]:
    """Execute ``notebooks`` (default: all) in order; raise ``NotebookFailed`` on an error."""
    import papermill as pm

    os.environ.setdefault("MPLBACKEND", "agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(out).resolve()
    data_arg = data if data in (SYNTHETIC, "kaggle") else str(Path(data).resolve())
    notebooks = list(notebooks) if notebooks is not None else list_notebooks()
    extra = dict(parameters or {})
    declared = {nb: pm.inspect_notebook(str(nb)) for nb in notebooks}
    unknown = set(extra) - {name for params in declared.values() for name in params}
    if unknown:
        raise ValueError(f"parameters {sorted(unknown)} are declared by none of the notebooks run")
    kernel = kernel or default_kernel()
    results = []
    for nb in notebooks:
        given = {"DATA_DIR": data_arg, "RUN_DIR": str(out), **extra}
        params = {k: v for k, v in given.items() if k in declared[nb]}
        target = runio.executed_dir(out) / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"== {nb.name}  {params}", flush=True)
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(nb),
                str(target),
                parameters=params,
                kernel_name=kernel,
                cwd=str(nb.parent),
                progress_bar=sys.stderr.isatty(),
            )
        except pm.PapermillExecutionError as e:
            raise NotebookFailed(
                f"{nb.name} failed in cell {e.cell_index} (execution count {e.exec_count}): "
                f"{e.ename}: {e.evalue}\n  executed copy with the traceback: {target}"
            ) from None
        seconds = round(time.perf_counter() - start, 1)
        print(f"   done in {seconds} s -> {target}", flush=True)
        results.append({"notebook": nb.name, "seconds": seconds, "parameters": params})
        runio.save_json(results, out / "series.json")
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
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        chosen = select(list_notebooks(args.notebooks), args.only, args.start)
        params = dict(parse_parameter(p) for p in args.parameter)
        results = run_series(args.data, args.out, chosen, params, args.kernel)
    except (NotebookFailed, ValueError, FileNotFoundError) as e:
        print(f"series failed: {e}", file=sys.stderr)
        return 1
    total = sum(r["seconds"] for r in results)
    print(f"series finished: {len(results)} notebooks in {total:.0f} s; run folder {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
