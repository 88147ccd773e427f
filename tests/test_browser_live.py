"""In Chromium, the combinations a lecturer and a learner meet: slow motion with nothing new to
draw, a change in the middle of a run followed by an export, and downloads clicked again and
again across reruns while another visitor trains."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from conftest import metric, replay, set_slider

pytestmark = pytest.mark.browser


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()


def slow_motion(page) -> None:
    page.get_by_test_id("stRadioOption").filter(has_text="Slow motion").click()
    page.get_by_role("slider", name="Steps per second").and_(page.locator(":not([aria-disabled=true])")).wait_for()


WINDOW_S = 6.5  # the gradient charts redraw every 3 s: two redraws and a half


def test_slow_motion_at_1_2_and_5_steps_per_second_never_breaks_the_page(page, server):
    """Statistics come every 20 steps and the gradient charts redraw every 3 s: at these speeds
    most redraws have nothing new (this drew two identical charts in one script run: an error)."""
    page.goto(f"{server}/?style=module&steps=1000000")
    page.get_by_role("button", name="Train").wait_for()
    slow_motion(page)
    set_slider(page, "Steps per second", "1", "Home")
    page.get_by_role("button", name="Train").click()
    for value in ("1", "2", "5"):
        set_slider(page, "Steps per second", value, "ArrowRight")
        began, start = time.monotonic(), int(metric(page, "Step"))
        while time.monotonic() - began < WINDOW_S:  # at least two gradient redraws with nothing new
            no_exception(page)
            time.sleep(0.5)
        moved = int(metric(page, "Step")) - start
        assert 0.4 * WINDOW_S * int(value) <= moved <= 1.5 * WINDOW_S * int(value) + 2, (value, moved)
    page.locator('[data-testid="stPlotlyChart"]:visible').nth(4).wait_for()  # loss and four gradient charts
    no_exception(page)
    page.get_by_role("button", name="Pause").click()


def settled(page) -> None:
    """Wait until the page's script run has ended (Streamlit marks the app "notRunning"): a click
    that lands while a rerun replaces the download button can fetch a file the rerun removed."""
    page.wait_for_timeout(100)  # the click's rerun starts
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)


def _download(page, label: str) -> bytes:
    with page.expect_download() as caught:
        page.get_by_role("button", name=label).click()
    path = caught.value.path()
    assert path is not None, f"{label}: no file arrived ({caught.value.failure()})"
    with open(path, "rb") as handle:
        return handle.read()


def test_a_live_learning_rate_change_then_export_replays_exactly(page, server, tmp_path):
    page.goto(f"{server}/?style=module&steps=160&lr=0.0001")
    page.get_by_role("button", name="Train").wait_for()
    slow_motion(page)  # 20 steps a second: the change lands mid-run
    page.get_by_role("button", name="Train").click()
    deadline = time.monotonic() + 60
    while int(metric(page, "Step")) < 40:
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.1)
    set_slider(page, "Learning rate (log scale)", "0.0002", "ArrowRight")
    changed_near = int(metric(page, "Step"))
    page.locator('[data-testid="stAlert"]', has_text="Finished 160 steps").wait_for(timeout=90_000)
    assert changed_near < 160, "the change came after the run had finished"
    no_exception(page)

    run = json.loads(_download(page, "Download JSON"))
    assert run["config"]["lr"] == 1e-4  # the settings the run started with
    [change] = run["changes"]
    assert change["setting"] == "lr" and change["value"] == 2e-4 and 40 <= change["step"] <= changed_near + 20
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    replayed = replay(path)
    rows = list(csv.DictReader(io.StringIO(_download(page, "Download CSV").decode())))
    assert len(rows) == len(replayed) == 160
    for shown, again in zip(rows, replayed, strict=True):
        assert float(shown["loss"]) == again["loss"], shown["step"]  # the page's loss at every step
    assert float(rows[change["step"] - 1]["lr"]) == 1e-4 and float(rows[change["step"]]["lr"]) == 2e-4


def test_downloads_arrive_every_time_across_reruns_while_another_visitor_trains(page, browser, server):
    page.goto(f"{server}/?style=nn&steps=150")
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 150 steps").wait_for(timeout=90_000)
    first_csv, first_json = _download(page, "Download CSV"), _download(page, "Download JSON")
    assert first_csv.startswith(b"step,loss,lr") and json.loads(first_json)["history"]["step"][-1] == 149

    other = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        visitor = other.new_page()
        visitor.goto(f"{server}/?style=module&steps=1000000")
        visitor.get_by_role("button", name="Train").click()
        visitor.get_by_role("button", name="Pause").and_(visitor.locator(":enabled")).wait_for()
        speeds = page.get_by_test_id("stRadioOption")
        for i in range(12):
            # A full rerun between clicks (the speed is no run setting: the run and its files stay).
            speeds.filter(has_text="Slow motion" if i % 2 == 0 else "As fast as possible").click()
            settled(page)  # then click, as a person does once the page has redrawn
            assert _download(page, "Download CSV") == first_csv, f"CSV, click {i + 1}"
            assert _download(page, "Download JSON") == first_json, f"JSON, click {i + 1}"
        assert visitor.get_by_role("button", name="Pause").is_enabled()  # still training throughout
        no_exception(page)
        no_exception(visitor)
    finally:
        other.close()
