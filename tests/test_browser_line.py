"""In Chromium, a server that trains one run at a time (``PLAYGROUND_MAX_CONCURRENT_RUNS=1``):
a second visitor's Train waits in line, the page says so, and the run starts by itself."""

from __future__ import annotations

import time

import pytest
from conftest import metric

pytestmark = pytest.mark.browser

SERVER_ENV = {"PLAYGROUND_MAX_CONCURRENT_RUNS": "1"}


def test_a_second_visitor_waits_in_line_and_starts_by_itself(browser, server):
    first_context = browser.new_context(viewport={"width": 1280, "height": 900})
    second_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        first, second = first_context.new_page(), second_context.new_page()
        for page in (first, second):
            page.set_default_timeout(60_000)
        first.goto(f"{server}/?style=module&steps=1000000")
        first.get_by_role("button", name="Train").click()
        first.get_by_role("button", name="Pause").and_(first.locator(":enabled")).wait_for()

        second.goto(f"{server}/?style=tensor&steps=200")
        second.get_by_role("button", name="Train").click()
        line = second.locator('[data-testid="stAlert"]', has_text="Waiting in line: place 1 of 1")
        line.wait_for()
        assert "starts by itself" in line.inner_text()
        time.sleep(1.0)
        assert metric(second, "Step") == "0"  # nothing trains while it waits
        assert second.get_by_role("button", name="Pause").is_enabled()  # leaves the line

        first.get_by_role("button", name="Pause").click()  # the place frees...
        second.locator('[data-testid="stAlert"]', has_text="Finished 200 steps").wait_for(timeout=60_000)
        assert metric(second, "Step") == "200"  # ...and the waiting run trained by itself
        for page in (first, second):
            assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        first_context.close()
        second_context.close()
