"""Shared helpers for the tests: engine runs, and the browser tests' server and Chromium.

The engine is not installed as a package; the repository root goes on sys.path
so that both ``pytest`` and ``python -m pytest`` find ``playground``.
"""

from __future__ import annotations

import json
import os

# One BLAS thread, as the app's workers train: on 2 cores shared with another process, NumPy's
# default two threads made a matrix product 8x slower (set before NumPy is first imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground.config import Config  # noqa: E402
from playground.trainer import Trainer  # noqa: E402

#: Sizes small enough that a run of a few hundred steps takes well under a second.
SMALL = {"n": 8, "d_in": 20, "hidden": 12, "d_out": 3}


def to_numpy(value) -> np.ndarray:
    """A NumPy copy of a tensor or an array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    return np.array(value, copy=True)


def run_losses(cfg: Config) -> tuple[np.ndarray, Trainer]:
    """Train ``cfg`` to the end; return the loss of every step and the trainer."""
    trainer = Trainer(cfg)
    losses = []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
    return np.array(losses), trainer


def replay(path) -> list[dict]:
    """``python -m playground train --config PATH --json``, as a user replays a run file: its rows."""
    done = subprocess.run(
        [sys.executable, "-m", "playground", "train", "--config", str(path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Train on one torch thread in the engine tests (``pytestmark`` in their modules).

    On a small shared machine (2 cores here) two OpenMP threads that spin-wait for each
    other make a run 2 to 10 times slower whenever a neighbour takes a core. The results
    do not depend on it: the tolerances in these tests hold with 1 or 2 threads.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------ the browser tests
# A real `streamlit run app.py` (one per test module) and Debian's Chromium through Playwright.

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> None:
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_streamlit(port: int, log, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on ``port``, once ``/_stcore/health`` answers ok (as Streamlit's own e2e tests wait).

    ``env``: extra environment variables for the server (e.g. ``PLAYGROUND_*`` limits).
    """
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url, process):
        process.kill()
        raise RuntimeError(f"streamlit did not become healthy (log: {getattr(log, 'name', log)})")
    return process, url


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90, interval: float = 0.25) -> bool:
    """Poll ``url``'s ``/_stcore/health`` every ``interval`` s until it answers ok (True), or
    until ``process`` exits or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return True
        except OSError:  # not listening yet
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)


@pytest.fixture(scope="module")
def server(request):
    """One server per test module; a module's ``SERVER_ENV`` dict sets the server's environment."""
    _browser_or_skip()
    port = _free_port()
    log = open(ROOT / "tests" / f".streamlit-{port}.log", "w")  # noqa: SIM115 - closed below
    process, url = launch_streamlit(port, log, getattr(request.module, "SERVER_ENV", None))
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    os.unlink(log.name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return box.locator('[data-testid="stMetricValue"]').first.inner_text()
