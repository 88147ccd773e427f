"""Lecture mode on a projector: docs/lecturing.md's lecture link at 1280x720 (the most common projector
resolution) and 1024x768, in Chromium. The audience must read every label in the main area,
and see the metrics and most of the loss chart, without anyone scrolling."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

pytestmark = pytest.mark.browser

# The docs' link, with predict=0: Train trains at once (tests/test_browser_predict.py asks first)
LECTURE_LINK = "/?style=numpy&lecture=1&predict=0&hide=n,d_in,hidden,d_out,seed,dtype,device,depth,speed"

# Text boxes in the main area that cut their text (an ellipsis or a clipped overflow), with why.
TRUNCATED = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const boxes = main.querySelectorAll(
    'button p, button div, [data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *, [role="tab"] p, h1, h2'
  );
  const cut = [];
  for (const box of boxes) {
    if (!box.offsetParent || !box.innerText.trim()) continue;  // hidden, or no text of its own
    const text = box.innerText.trim();
    if (box.scrollWidth > box.clientWidth + 1) cut.push(`${text} (${box.scrollWidth} > ${box.clientWidth})`);
  }
  return cut;
}"""


def visible_px(page, locator) -> float:
    """How much of ``locator``'s height lies inside the viewport's first screen (no scrolling)."""
    box = locator.bounding_box()
    return max(0.0, min(box["y"] + box["height"], page.viewport_size["height"]) - max(box["y"], 0.0))


def on_screen(page, locator) -> float:
    """The fraction of ``locator``'s height inside the viewport's first screen."""
    return visible_px(page, locator) / locator.bounding_box()["height"]


def check_first_screen(page, when: str) -> None:
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate(TRUNCATED) == [], f"{when}: labels cut"
    for name in ("Train", "Pause", "Step", "Reset"):  # each with its key: "Train Shortcut T"
        button = page.get_by_role("button", name=re.compile(rf"^{name} Shortcut [\w+]+$"))
        assert on_screen(page, button) == 1.0, f"{when}: {name}"
    for label in ("Step", "Loss", "Steps/s"):
        metric = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True)).first
        assert on_screen(page, metric) == 1.0, f"{when}: the {label} metric"
    main = page.get_by_test_id("stMain").bounding_box()
    assert main["x"] < 1 and main["width"] >= page.viewport_size["width"] - 1, f"{when}: the sidebar takes width"


@pytest.mark.parametrize("width, height", [(1280, 720), (1024, 768)])
def test_lecture_mode_fits_a_projector_before_and_after_train(browser, server, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(server + LECTURE_LINK)
        page.get_by_role("button", name="Train").wait_for()
        page.get_by_text("Notice:").wait_for()
        for cell in ("1. numpy", "8. dynamic"):  # the eight cells, each readable (drawn after the notice)
            page.get_by_text(cell, exact=True).wait_for(state="visible")
        check_first_screen(page, "before Train")
        page.get_by_role("button", name="Train").click()
        page.locator('[data-testid="stAlert"]', has_text="Finished 500 steps").wait_for(timeout=90_000)
        loss_chart = page.locator('[data-testid="stPlotlyChart"]').first
        loss_chart.wait_for()
        check_first_screen(page, "after Train")
        assert on_screen(page, loss_chart) >= 0.6, "most of the loss chart on the first screen"
        assert visible_px(page, loss_chart) >= 250, "the back row sees the curve, not only the metrics"
        page.screenshot(path=str(ROOT / "tests" / f".last-lecture-{width}x{height}.png"))
    finally:
        context.close()
