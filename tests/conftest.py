"""Shared helpers for the tests: engine runs, and the browser tests' server and Chromium
(started by ``playground.testing``, which the benchmarks use too).

The engine is not installed as a package; the repository root goes on sys.path
so that both ``pytest`` and ``python -m pytest`` find ``playground``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

# One BLAS thread, as the app's workers train: on 2 cores shared with another process, NumPy's
# default two threads made a matrix product 8x slower (set before NumPy is first imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground import testing  # noqa: E402
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
# A real `streamlit run app.py` and Debian's Chromium through Playwright (playground/testing.py).


def _browser_or_skip() -> None:
    reason = testing.browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)


@contextlib.contextmanager
def _served(env: dict[str, str] | None):
    port = testing.free_port()
    log = open(ROOT / "tests" / f".streamlit-{port}.log", "w")  # noqa: SIM115 - closed below
    process, url = testing.launch_streamlit(port, log, env)
    try:
        yield url
    finally:
        testing.stop(process)
        log.close()
        os.unlink(log.name)


@pytest.fixture(scope="session")
def shared_server():
    """One server for every browser test module that needs no settings of its own."""
    _browser_or_skip()
    with _served(None) as url:
        yield url


@pytest.fixture(scope="module")
def server(request):
    """The shared server; a module's ``SERVER_ENV`` dict gets a server of its own with that environment."""
    env = getattr(request.module, "SERVER_ENV", None)
    if env is None:
        yield request.getfixturevalue("shared_server")
        return
    _browser_or_skip()
    with _served(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    with testing.chromium() as chromium:
        yield chromium


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


def set_slider(page, name: str, value: str, key: str) -> None:
    """Press ``key`` on the slider called ``name`` until it shows ``value``, as a person at the
    keyboard does: watching each press land before the next, and pressing again one that did not
    (a key pressed in the moment the page redraws the slider can go unheard)."""
    slider = page.get_by_role("slider", name=name)
    deadline = time.monotonic() + 30
    while (before := slider.get_attribute("aria-valuetext")) != value:
        assert time.monotonic() < deadline, f"{name} shows {before}, not {value}"
        slider.press(key)
        landed = time.monotonic() + 2
        while slider.get_attribute("aria-valuetext") == before and time.monotonic() < landed:
            time.sleep(0.05)
    page.wait_for_timeout(300)  # a slider sends its value 200 ms after the last key (Streamlit's debounce)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def step(page) -> int:
    """The Step metric, or -1 while it is being redrawn."""
    try:
        return int(metric(page, "Step").replace(",", ""))
    except Exception:  # being redrawn, or the page reconnecting
        return -1
