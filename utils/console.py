"""The headless runner's console: papermill's log of a notebook as plain lines.

One line per code cell as it starts, per training epoch (loss and validation scores of Keras'
end-of-epoch line) and per notebook warning; no progress bars, no ``\r``.
A tag (the notebook's number) starts every line when notebooks run side by side.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x08]")
EPOCH = re.compile(r"\bEpoch (\d+/\d+)\b")
METRIC = re.compile(r"\b(loss|val_\w+): ([-+0-9.e]+)")
WARNING = re.compile(r"^(WARNING|ERROR|CRITICAL)\b|\b\w*(Warning|Error): ")


class Console(logging.Handler):
    """papermill's log (``log_output=True``) -> one console line per code cell, training epoch
    (loss and validation metrics of Keras' end-of-epoch line) and notebook warning; no ``\\r``."""

    def __init__(self, cells: Sequence[str], tag: str = "") -> None:
        super().__init__()
        self.cells = list(cells)  # first source line of each cell of the executed notebook, or ""
        self.tag = tag  # printed before every line: the notebook's number when run side by side
        self.partial = {logging.INFO: "", logging.WARNING: ""}  # unfinished line per stream
        self.epoch = ""

    def emit(self, record: logging.LogRecord) -> None:
        """Show what matters of one papermill record."""
        text = record.getMessage()
        cell = re.match(r"Executing Cell (\d+)-", text)
        if record.funcName == "log_output_message":  # a notebook's output: stdout or stderr
            self.output(logging.INFO if record.levelno < logging.WARNING else logging.WARNING, text)
        elif cell and int(cell.group(1)) <= len(self.cells) and self.cells[int(cell.group(1)) - 1]:
            number = int(cell.group(1))
            print(f"{self.tag}   cell {number}/{len(self.cells)}: {self.cells[number - 1]}",
                  flush=True)  # fmt: skip
        elif record.levelno >= logging.WARNING:
            print(f"{self.tag}   papermill: {text}", flush=True)

    def output(self, stream: int, text: str) -> None:
        """Complete lines of an output chunk (progress bars reduced to their last state).

        Only a progress bar in flight (``\\r`` or backspaces) is held back for the next chunk;
        any other chunk (a display's text, a print without newline) is complete as it is.
        """
        text = self.partial[stream] + text
        *lines, rest = text.split("\n")
        in_flight = "\r" in rest or "\x08" in rest
        self.partial[stream] = rest.rsplit("\r", 1)[-1] if in_flight else ""
        warning_block = False
        for raw in lines if in_flight else [*lines, rest]:
            line = ANSI.sub("", raw.rsplit("\r", 1)[-1]).rstrip()
            epoch = EPOCH.search(ANSI.sub("", raw))  # before a progress bar on the same line
            if epoch:
                self.epoch = epoch.group(1)
            if line.startswith("Epoch "):
                continue
            if "val_" in line and METRIC.search(line):
                scores = ", ".join(f"{k} {v}" for k, v in METRIC.findall(line))
                print(f"{self.tag}     epoch {self.epoch}: {scores}", flush=True)
            elif stream == logging.WARNING and line and (warning_block or WARNING.search(line)):
                warning_block = not line.startswith(("INFO", "DEBUG"))
                if warning_block:
                    print(f"{self.tag}     {line}", flush=True)


def cell_summaries(nb: Path, parameterised: bool) -> list[str]:
    """First code line of each cell as papermill numbers them (injected parameters included)."""
    import nbformat

    cells = nbformat.read(str(nb), as_version=4).cells
    lines = []
    for cell in cells:
        code = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")]
        lines.append(code[0][:80] if cell.cell_type == "code" and code else "")
        if parameterised and "parameters" in cell.metadata.get("tags", []):
            lines.append("")  # papermill's injected-parameters cell
    return lines
