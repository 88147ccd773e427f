"""In Chromium: predict, then run. A classic mistake's link asks before Train starts; the run's end
shows each answer beside what it did, and the tally survives a reload."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_a_mistake_asks_first_then_the_run_answers(page, server):
    page.goto(f"{server}/?style=numpy&mistake=no_relu_mask&steps=200")
    page.get_by_role("button", name="Train").first.click()
    question = page.locator(".st-key-prediction")
    question.get_by_text("Which way will the loss go?").wait_for()
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "0"  # nothing ran yet
    question.get_by_text("falls smoothly").click()
    question.get_by_text("neither").click()  # the check will find w1 off: a wrong answer, marked so
    page.get_by_role("button", name="Answer, then train").click()
    reveal = page.locator(".st-key-reveal")
    reveal.wait_for(timeout=60_000)
    text = reveal.inner_text()
    assert "You said falls smoothly; the run: falls smoothly" in text, text
    assert "You said neither; the run: the first layer's (w1)" in text, text
    assert "Right so far this session: 2/3" in text, text  # the way and the power of ten (1e+00): right
    assert "Your predictions: 2/3 right" in page.locator(".st-key-predict_row").inner_text()
    page.reload()
    page.locator(".st-key-predict_row").get_by_text("Your predictions: 2/3 right").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_skip_trains_at_once_and_a_link_can_turn_the_questions_off(page, server):
    page.goto(f"{server}/?style=numpy&lecture=1&steps=50")
    page.get_by_role("button", name="Train").first.click()
    page.get_by_role("button", name="Skip").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 50 steps").wait_for(timeout=60_000)
    assert page.locator(".st-key-reveal").count() == 0
    page.goto(f"{server}/?style=numpy&lecture=1&steps=50&predict=0")
    page.get_by_role("button", name="Train").first.click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 50 steps").wait_for(timeout=60_000)
    assert page.locator(".st-key-prediction").count() == 0
