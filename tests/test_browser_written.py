"""In Chromium: a learner writes the backward pass. On a laptop and on a phone they drop a line,
Check names it against autograd on a real step, Reset brings the cell back, and a version of their
own trains, with the link carrying it."""

from __future__ import annotations

import pytest
from conftest import metric, wait_until

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def open_box(page, url: str):
    page.goto(url)
    page.get_by_text("Write the backward pass yourself").click()
    box = page.locator(".st-key-written_text textarea")
    box.wait_for()
    return box


def write(page, box, text: str) -> None:
    box.fill(text)
    box.press("Control+Enter")  # the box takes the text
    page.wait_for_timeout(500)


def check(page) -> str:
    before = page.locator(".bp-verdict").count()
    page.locator(".st-key-written_check button").click()
    wait_until(lambda: page.locator(".bp-verdict").count() > 0 or before, 30, "no verdict came")
    alert = page.locator('[data-testid="stAlert"]', has_text="line").or_(
        page.locator('[data-testid="stAlert"]', has_text="Every line")
    )
    alert.first.wait_for()
    return alert.first.inner_text()


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_a_dropped_mask_is_named_at_its_line_and_reset_brings_the_cell_back(browser, server, device):
    context = (
        browser.new_context(**PHONE)
        if device == "phone"
        else browser.new_context(viewport={"width": 1280, "height": 800})
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    box = open_box(page, f"{server}/?style=numpy&steps=50")
    cell = box.input_value()
    assert cell.startswith("grad_y_pred = 2.0 * (y_pred - y)") and "grad_h[h < 0] = 0" in cell
    write(page, box, cell.replace("grad_h[h < 0] = 0\n", ""))
    verdict = check(page)
    assert "Line 4 is the first that is off" in verdict and "grad_h" in verdict, verdict
    page.locator(".st-key-walk_buttons", has_text="Backward pass, 4 of 5").wait_for()  # at the node it made
    page.locator(".st-key-written_reset button").click()
    wait_until(lambda: box.input_value() == cell, 10, "Reset did not bring the cell back")
    page.get_by_text("Every line agrees with autograd").or_(page.locator(".st-key-written_check")).first.wait_for()
    check(page)
    page.get_by_text("Every line agrees with autograd").wait_for()
    write(page, box, "grad_w1 = __import__('os')")
    page.locator(".st-key-written_check button").click()
    page.get_by_text("Not accepted, line 1:").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()


def test_a_version_of_ones_own_trains_and_the_link_carries_it(browser, page, server):
    box = open_box(page, f"{server}/?style=numpy&steps=50")
    mine = box.input_value().replace("grad_h = grad_h_relu.copy()\ngrad_h[h < 0] = 0", "grad_h = grad_h_relu * (h > 0)")
    write(page, box, mine)
    page.locator(".st-key-written_train button >> visible=true").first.click()
    page.get_by_text("This run trains with your lines").first.wait_for()
    assert "grad_h = grad_h_relu * (h > 0)" in page.locator(".bp-diff .added").first.inner_text()
    wait_until(lambda: "backward=" in page.url, 10, "the link does not carry the lines")
    page.get_by_role("button", name="Train").first.click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 50 steps").wait_for(timeout=60_000)
    trained = metric(page, "Loss")
    # The link alone, in another browser: the same lines, the same run.
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    elsewhere = other.new_page()
    elsewhere.goto(page.url)
    elsewhere.get_by_text("This run trains with your lines").first.wait_for()
    box = elsewhere.locator(".st-key-written_text textarea")
    wait_until(lambda: box.input_value() == mine, 10, "the box does not hold the link's lines")
    elsewhere.get_by_role("button", name="Train").first.click()
    elsewhere.locator('[data-testid="stAlert"]', has_text="Finished 50 steps").wait_for(timeout=60_000)
    assert metric(elsewhere, "Loss") == trained
    other.close()
