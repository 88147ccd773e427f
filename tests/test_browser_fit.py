"""In Chromium: a curve from a link, its fit chart moving while it trains, the keyboard driving
the run, and the code panel's diff against the previous cell."""

from __future__ import annotations

import re
import time

import pytest
from conftest import ROOT, step, wait_until

pytestmark = pytest.mark.browser


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()


def test_a_sine_fit_trains_from_the_keyboard_and_the_code_shows_what_changed(page, server):
    page.goto(f"{server}/?data=sin&style=module")
    train = page.get_by_role("button", name="Train")
    train.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
    titles = page.locator('[data-testid="stPlotlyChart"] .gtitle')
    titles.filter(has_text="Fit of y = sin(x)").first.wait_for()  # the points and the curve, before any step
    assert page.get_by_label("Input size (D_in)").is_disabled()

    page.locator("h1").click()  # the page has the focus, no widget
    page.keyboard.press("t")  # Train (slow motion, 50 steps a second, as a curve starts)
    wait_until(lambda: step(page) >= 60, 30, "T did not start training")
    titles.filter(has_text=re.compile(r"Fit of y = sin\(x\) after \d+ steps")).first.wait_for()
    legend = page.locator('[data-testid="stPlotlyChart"] .legend')
    assert legend.filter(has_text="network").count() and legend.filter(has_text="kinks").count()
    page.keyboard.press("t")  # Pause
    train.and_(page.locator(":enabled")).wait_for(timeout=15_000)
    time.sleep(0.5)
    paused = step(page)
    assert 60 <= paused < 500
    page.locator("h1").click()
    page.keyboard.press("s")  # one Step
    wait_until(lambda: step(page) == paused + 1, 15, f"S did not take one step from {paused}")
    no_exception(page)

    page.get_by_text("What changed from the previous cell (optim)").click()
    diff = page.locator(".bp-diff")
    diff.wait_for()
    assert diff.locator('[data-kind="added"]', has_text="class TwoLayerNet(torch.nn.Module):").count() == 1
    assert diff.locator('[data-kind="removed"]', has_text="torch.nn.Sequential(").count() == 1
    fold = diff.locator("details.fold").first
    assert not fold.locator('[data-kind="same"]').first.is_visible()  # folded
    fold.locator("summary").click()
    assert fold.locator('[data-kind="same"]').first.is_visible()
    no_exception(page)
    page.screenshot(path=str(ROOT / "tests" / ".last-fit-run.png"))
