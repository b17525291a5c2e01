"""The notebooks in JupyterLab in a real browser, as a person runs them: every cell, the widgets.

JupyterLab is started on loopback from this environment, over a copy of ``notebooks/`` whose
run folder is the default ``../runs/default``; each notebook gets its parameters as papermill
would inject them (the tiny synthetic sample, few epochs), is opened in headless Chromium
(Debian's ``/usr/bin/chromium``, driven by Playwright) and run with "Run All Cells". Then every
code cell must have run with no error and no start-up noise on stderr, and in notebook 04
moving the epoch slider and the view buttons must change the image. Screenshots go to
``runs/browser/``. Skipped, with the reason, when Chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from conftest import ROOT

from utils import notebook, series

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [  # what Chromium needs here: no GPU, no calls home, a fresh profile (Playwright)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "runs" / "browser"
TINY = {  # as tests/test_notebooks.py: the series in a few minutes on 2 CPU cores
    "IMAGE_SIZE": 64,
    "EPOCHS": 2,
    "BATCH_SIZE": 8,
    "MAX_POINTS": 400,
    "N_IMAGES": 8,
    "SAMPLE_IMAGES": 8,
    "SAMPLE_PIXELS": 20000,
    "K_RANGE": "4,13,19",
    "BROWSE_IMAGES": 4,
}
NOISE = (  # must not reach a notebook's stderr
    "IProgress not found",
    "absl::InitializeLog",
    "cuInit",
    "oneDNN",
    "cudart_stub",
    "cpu_feature_guard",
)
LAB_SETTINGS = {  # no news pop-up; every cell in the page (no windowing), so all can be checked
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
NOTEBOOK_TIMEOUT_S = 420
SETTLE_POLL_S = 0.5  # between looks at the cell prompts while a notebook runs
WIDGET_TIMEOUT_MS = 60_000


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Chromium under Playwright, or a skip that says what is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def prepare_project(folder: Path, data: Path) -> Path:
    """Copies of the notebooks with papermill's injected parameters (RUN_DIR left default)."""
    for path in series.list_notebooks():
        nb = pm.iorw.load_notebook_node(str(path))  # as papermill reads it: every cell tagged
        declared = pm.inspect_notebook(str(path))
        params = {k: v for k, v in {"DATA_DIR": str(data), **TINY}.items() if k in declared}
        if "SNAPSHOT_DIR" in declared:  # keep the repository's snapshot folders untouched
            params["SNAPSHOT_DIR"] = str(folder / "runs" / "default" / "snapshots")
        nb = pm.parameterize.parameterize_notebook(nb, params, report_mode=False)
        nbformat.write(nb, folder / "notebooks" / path.name)
    return folder


def lab_env(home: Path) -> dict[str, str]:
    """The environment a person's JupyterLab has: no headless switches, no news pop-up."""
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", notebook.HEADLESS_ENV)}
    for plugin, value in LAB_SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
    )
    return env


def stop_tensorboards(root: Path) -> None:
    """End the TensorBoard servers that notebook 03's magic started over this project."""
    from tensorboard import manager

    for info in manager.get_all():
        if str(root) in info.logdir:
            try:
                os.kill(info.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def lab(tiny_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """JupyterLab on loopback over a prepared copy of the project: its URL, token and folder."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "project"
    (root / "notebooks").mkdir(parents=True)
    prepare_project(root, tiny_sample)
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:  # CI runs as root
        command.append("--allow-root")
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=lab_env(home))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (home / "lab.log").read_text()
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        stop_tensorboards(root)


PROMPTS_JS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'
)].map(e => e.textContent.trim())"""


def run_all_cells(page: object, lab: dict, name: str) -> dict:
    """Open a notebook in JupyterLab, run all its cells from the UI, save it; the saved notebook."""
    page.goto(f"{lab['url']}/lab/tree/notebooks/{name}?reset&token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=120_000)  # the kernel is ready
    page.keyboard.press("Control+b")  # hide the file browser: more room for the notebook
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
    deadline, settled = time.monotonic() + NOTEBOOK_TIMEOUT_S, 0
    # No cell queued or running, three looks in a row: "Run All Cells" queues every code cell
    # at once (each shows [*] until it has run), so this means done; check_cells then checks
    # that every cell ran.
    while settled < 3:
        assert time.monotonic() < deadline, f"{name}: still running after {NOTEBOOK_TIMEOUT_S} s"
        time.sleep(SETTLE_POLL_S)
        prompts = page.evaluate(PROMPTS_JS)
        started = any(p.strip("[]:").isdigit() for p in prompts)
        settled = settled + 1 if started and not any("*" in p for p in prompts) else 0
    page.keyboard.press("Control+s")
    page.wait_for_selector(".lm-TabBar-tab.jp-mod-dirty", state="detached", timeout=30_000)
    return json.loads((lab["root"] / "notebooks" / name).read_text())


def check_cells(saved: dict, name: str) -> None:
    """Every code cell ran; no error output; nothing of TensorFlow's start-up on stderr."""
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    not_run = [i for i, c in enumerate(code) if c["execution_count"] is None]
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert not not_run, f"{name}: code cells {not_run} did not run"
    stderr = "".join(
        "".join(o["text"])
        for c in code
        for o in c["outputs"]
        if o["output_type"] == "stream" and o["name"] == "stderr"
    )
    assert not [n for n in NOISE if n in stderr], f"{name} stderr:\n{stderr[:2000]}"
    if name.startswith("03"):  # the %tensorboard magic embedded a running TensorBoard
        shown = json.dumps([o for c in code for o in c["outputs"]])
        assert "tensorboard-frame" in shown, f"{name}: no TensorBoard frame"


def shutdown_kernels(lab: dict) -> None:
    """Shut down every kernel of the server (one notebook at a time keeps memory low)."""
    base, token = lab["url"], lab["token"]
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}") as reply:
        kernels = json.load(reply)
    for k in kernels:
        request = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}")
        request.method = "DELETE"
        urllib.request.urlopen(request).close()


def image_source(widget: object) -> str:
    """The ``src`` of the figure a widget's output shows now."""
    image = widget.locator(".widget-output img").first
    image.wait_for(timeout=WIDGET_TIMEOUT_MS)
    return image.get_attribute("src")


def wait_for_new_image(page: object, widget: object, old: str) -> str:
    """Wait until the widget shows a figure other than ``old``; the new ``src``."""
    deadline = time.monotonic() + WIDGET_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        src = widget.locator(".widget-output img").first.get_attribute("src")
        if src and src != old:
            return src
        page.wait_for_timeout(250)
    raise AssertionError("the widget's figure did not change")


def drive_epoch_browser(page: object) -> None:
    """Notebook 04: slide to epoch 1, then show the error map; each redraws the figure."""
    widget = page.locator(".jp-OutputArea-output .widget-vbox:has(.widget-slider)").first
    widget.scroll_into_view_if_needed(timeout=WIDGET_TIMEOUT_MS)
    readout = widget.locator(".widget-readout")
    last = readout.inner_text()
    first_src = image_source(widget)
    widget.screenshot(path=SHOTS / f"04_epoch_browser_epoch_{last}.png")
    widget.locator(".noUi-handle").first.focus()
    page.keyboard.press("Home")  # the slider to its first epoch
    page.wait_for_function(
        "e => e.textContent.trim() === '1'", arg=readout.element_handle(), timeout=10_000
    )
    second_src = wait_for_new_image(page, widget, first_src)
    widget.screenshot(path=SHOTS / "04_epoch_browser_epoch_1.png")
    widget.locator("button", has_text="error map").click()
    wait_for_new_image(page, widget, second_src)
    widget.screenshot(path=SHOTS / "04_epoch_browser_error_map.png")
    page.screenshot(path=SHOTS / "04_jupyterlab.png")


def test_every_notebook_runs_in_jupyterlab_and_the_widgets_respond(
    chromium: object, lab: dict
) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    timings = {}
    for path in series.list_notebooks():
        start = time.monotonic()
        page = chromium.new_page(viewport={"width": 1500, "height": 1000})
        try:
            saved = run_all_cells(page, lab, path.name)
            page.screenshot(path=SHOTS / f"{path.stem}.png")
            check_cells(saved, path.name)
            if path.name.startswith("04"):
                drive_epoch_browser(page)
        finally:
            page.close()
            shutdown_kernels(lab)
        timings[path.name] = round(time.monotonic() - start, 1)
    (SHOTS / "timings.json").write_text(json.dumps(timings, indent=1))
    models = lab["root"] / "runs" / "default" / "models"
    assert (models / "model1" / "model.keras").is_file(), "notebook 03 trained into runs/default"
