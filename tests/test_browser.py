"""End to end: a real `streamlit run app.py`, driven by Debian's Chromium through Playwright.

Where no Chromium exists the test skips with the reason, except in CI (CI=true), where
`.ci/run` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


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


def launch_streamlit(port: int, log) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on ``port``, once ``/_stcore/health`` answers ok (as Streamlit's own e2e tests wait)."""
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
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not become healthy (log: {getattr(log, 'name', log)})")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def server():
    _browser_or_skip()
    port = _free_port()
    log = open(ROOT / "tests" / f".streamlit-{port}.log", "w")  # noqa: SIM115 - closed below
    process, url = launch_streamlit(port, log)
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


def test_train_live_to_the_end(page, server):
    page.goto(server)
    train = page.get_by_role("button", name="Train")
    train.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
    train.click()
    finished = page.locator('[data-testid="stAlert"]', has_text="Finished 500 steps")
    seen = set()
    deadline = time.monotonic() + 90
    while not finished.count():
        assert time.monotonic() < deadline, f"no finish; saw steps {sorted(seen)}"
        try:
            seen.add(metric(page, "Step"))
        except Exception:  # the metric is being redrawn
            pass
        time.sleep(0.05)
    assert metric(page, "Step") == "500"
    assert float(metric(page, "Loss")) < 1e-2  # the tutorial's NumPy cell ends near 1e-6
    assert len(seen) >= 2, "the page did not update while training"
    page.locator('[data-testid="stPlotlyChart"]').nth(4).wait_for()
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 5  # loss, histogram, heatmap, norms, ratios
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(ROOT / "tests" / ".last-browser-run.png"), full_page=True)


def test_a_shared_link_opens_its_setup(page, server):
    page.goto(f"{server}/?style=optim&lr=0.001&hidden=50&steps=200&seed=3")
    page.get_by_role("button", name="Train").wait_for()
    page.get_by_text("An optimizer (Adam) does the update").wait_for()
    assert page.get_by_label("Hidden size (H)").input_value() == "50"
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 200 steps").wait_for(timeout=90_000)
    assert "style=optim" in page.url and "lr=0.001" in page.url and "seed=3" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_hostile_link_warns_and_still_trains(page, server):
    page.goto(f"{server}/?style=%3Cscript%3E&lr=nan&n=-1&steps=50&hide=x")
    page.get_by_role("button", name="Train").wait_for()
    warnings = page.locator('[data-testid="stAlert"]')
    warnings.filter(has_text="lr: nan").first.wait_for()
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 50 steps").wait_for(timeout=90_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_tutorial_compare_preset_draws_eight_runs(page, server):
    page.goto(f"{server}/?steps=100")
    page.get_by_role("tab", name="Compare runs").click()
    page.get_by_role("button", name="Run comparison").click()
    legend = page.locator('[data-testid="stPlotlyChart"]:visible .legend .traces')
    deadline = time.monotonic() + 120
    while legend.count() < 8:
        assert time.monotonic() < deadline, f"only {legend.count()} runs drawn"
        time.sleep(0.25)
    page.get_by_role("button", name="Run comparison").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(ROOT / "tests" / ".last-compare-run.png"))


def test_pause_stops_training_at_once_and_train_resumes(page, server):
    page.goto(f"{server}/?style=module&steps=1000000")
    page.get_by_role("button", name="Train").click()
    pause = page.get_by_role("button", name="Pause")
    deadline = time.monotonic() + 60
    while not (pause.is_enabled() and int(metric(page, "Step")) > 200):
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.1)
    page.locator('[data-testid="stPlotlyChart"]:visible').nth(4).wait_for()  # loss + four gradient charts
    pause.click()
    page.get_by_role("button", name="Train").and_(page.locator(":enabled")).wait_for(timeout=5000)
    time.sleep(0.5)
    paused_at = metric(page, "Step")
    time.sleep(1.0)
    assert metric(page, "Step") == paused_at  # nothing trains while paused
    assert page.get_by_text("Look inside one step").count() == 1  # no stale copies of the page
    page.get_by_role("button", name="Train").click()
    deadline = time.monotonic() + 30
    while int(metric(page, "Step")) <= int(paused_at):
        assert time.monotonic() < deadline, "Train did not resume"
        time.sleep(0.1)
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')][0]?.innerText === '0'"
    )
    assert page.locator('[data-testid="stException"]').count() == 0
