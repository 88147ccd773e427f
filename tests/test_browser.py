"""End to end: a real `streamlit run app.py`, driven by Debian's Chromium through Playwright.

The server, browser and page fixtures live in conftest.py. Where no Chromium exists the
tests skip with the reason, except in CI (CI=true), where a missing browser is a failure.
"""

from __future__ import annotations

import time

import pytest
from conftest import ROOT, metric

from playground.devices import known_without_torch

pytestmark = pytest.mark.browser


def test_train_live_to_the_end(page, server):
    # 5000 steps: about 3 s here, long enough to see the page move at its 5 redraws a second (the
    # default 500 can end in 0.3 s, between two redraws). The page itself records every Step value
    # it shows: polling from Playwright misses values when the machine is busy.
    page.add_init_script(
        """
        window.__steps = [];
        new MutationObserver(() => {
          const box = [...document.querySelectorAll('[data-testid="stMetric"]')]
            .find(b => b.innerText.startsWith('Step'));
          const value = box && box.querySelector('[data-testid="stMetricValue"]').innerText;
          if (value && !window.__steps.includes(value)) window.__steps.push(value);
          if (document.body.innerText.includes('Looking for GPUs')) window.__looking = true;
        }).observe(document, {subtree: true, childList: true, characterData: true});
        """
    )
    page.goto(f"{server}/?steps=5000")
    train = page.get_by_role("button", name="Train")
    train.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
    train.click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 5000 steps").wait_for(timeout=90_000)
    seen = page.evaluate("window.__steps")
    assert metric(page, "Step") == "5000"
    assert float(metric(page, "Loss")) < 1e-2  # the tutorial's NumPy cell ends near 1e-6 at 500 steps
    assert len(set(seen) - {"0", "5000"}) >= 2, f"the page did not update while training: it showed {seen}"
    page.locator('[data-testid="stPlotlyChart"]').nth(4).wait_for()
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 5  # loss, histogram, heatmap, norms, ratios
    assert page.locator('[data-testid="stException"]').count() == 0
    if known_without_torch():  # a CPU-only torch: known at start, no "Looking for GPUs…" then a rerun
        assert not page.evaluate("window.__looking")
    page.screenshot(path=str(ROOT / "tests" / ".last-browser-run.png"), full_page=True)


def test_a_new_page_shows_its_train_button_before_the_settings(page, server):
    # The first run sends the title and the run buttons, pauses, then sends the settings, so that
    # the browser shows Train without waiting for the JavaScript of every widget (page.first_paint).
    page.add_init_script(
        """
        window.__first = {};
        new MutationObserver(() => {
          const now = performance.now();
          const train = [...document.querySelectorAll('button')].some(b => b.innerText.startsWith('Train'));
          if (!window.__first.train && train) window.__first.train = now;
          const settings = document.querySelector('[data-testid="stSidebar"] [data-testid="stSelectbox"]');
          if (!window.__first.settings && settings) window.__first.settings = now;
          const box = [...document.querySelectorAll('[data-testid="stMetric"]')]
            .find(b => b.innerText.startsWith('Step'));
          const step = box && parseInt(box.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, ''));
          if (!window.__first.step && step > 0) window.__first.step = now;
          const chart = document.querySelector('[data-testid="stPlotlyChart"]');
          if (!window.__first.chart && chart) window.__first.chart = now;
          const finished = [...document.querySelectorAll('[data-testid="stAlert"]')]
            .some(a => a.innerText.includes('Finished'));
          if (!window.__first.finished && finished) window.__first.finished = now;
        }).observe(document, {subtree: true, childList: true, characterData: true});
        document.addEventListener('click', () => { window.__first.click ??= performance.now(); }, true);
        // What the server sends, in its order: the index of the first message with a Plotly figure,
        // and of the first that says Finished.
        window.__sent = {count: 0};
        const Socket = window.WebSocket;
        window.WebSocket = class extends Socket {
          constructor(...args) {
            super(...args);
            this.addEventListener('message', event => {
              const data = event.data, sent = window.__sent, index = sent.count++;
              const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
              if (sent.chart === undefined && text.includes('"layout"')) sent.chart = index;
              if (sent.finished === undefined && text.includes('Finished')) sent.finished = index;
              // metrics redrawn after the click, before the first chart
              if (window.__first.click && sent.chart === undefined && text.includes('Steps/s')) {
                sent.metrics = (sent.metrics || 0) + 1;
              }
            });
          }
        };
        """
    )
    page.goto(server)
    page.get_by_label("Style").first.wait_for()
    first = page.evaluate("window.__first")
    assert first["train"] < first["settings"], first
    page.get_by_role("button", name="Train").click()  # the page works as usual after the pause
    page.locator('[data-testid="stAlert"]', has_text="Finished 500 steps").wait_for(timeout=90_000)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    # The page's first chart loads Plotly (seconds of the browser's time): the server sends it a
    # second into the run, or after the run's end if that comes first or soon after
    # (LiveView.charts_due), so the first steps show before it.
    first, sent = page.evaluate("window.__first"), page.evaluate("window.__sent")
    assert first["step"] < first["chart"], first
    assert sent["chart"] > sent["finished"] or sent.get("metrics", 0) >= 3, (first, sent)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_shared_link_opens_its_setup(page, server):
    # The first value each control is drawn with: a link's values from the first frame, not the
    # widget's minimum or first option a moment before them.
    page.add_init_script(
        """
        window.__drawn = {};
        const seen = () => {
          const hidden = document.querySelector('input[aria-label="Hidden size (H)"]');
          const lr = document.querySelector('input[type="range"][aria-label="Learning rate (log scale)"]');
          if (hidden && !("hidden" in window.__drawn)) window.__drawn.hidden = hidden.value;
          if (lr && !("lr" in window.__drawn)) window.__drawn.lr = lr.getAttribute("aria-valuetext");
        };
        new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true});
        """
    )
    page.goto(f"{server}/?style=optim&lr=0.001&hidden=50&steps=200&seed=3")
    page.get_by_role("button", name="Train").wait_for()
    page.get_by_text("An optimizer (Adam) does the update").wait_for()
    page.get_by_label("Learning rate (log scale)").first.wait_for()
    assert page.get_by_label("Hidden size (H)").input_value() == "50"
    assert page.evaluate("window.__drawn") == {"hidden": "50", "lr": "0.001"}
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
    page.get_by_role("button", name="Train").and_(page.locator(":enabled")).wait_for(timeout=15_000)
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
