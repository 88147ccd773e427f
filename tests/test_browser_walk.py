"""In Chromium: the walk a learner follows. At every stop the node, its equation and its line of
code share one screen (their bounding boxes, at 1280x800 with the sidebar open, and in lecture
mode at 1280x720); on a phone the graph's labels stay readable and a tap on Next shows what changed
without scrolling; a reload comes back to the stop; looking inside a trained run continues it."""

from __future__ import annotations

import pytest
from conftest import metric, step, wait_until

from playground.config import Config
from playground.inspection.step import inspect_backprop
from playground.trainer import Trainer

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

#: What the current stop shows, as boxes [top, bottom, left, right] in the window (null: none shown).
BOXES = """() => {
  const shown = (selector) => [...document.querySelectorAll(selector)]
    .find(e => e.getBoundingClientRect().width > 0);
  const box = (e) => {
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return [r.top, r.bottom, r.left, r.right];
  };
  const svg = shown('.st-key-walk_graph [data-testid="stGraphVizChart"] svg')
    || shown('.st-key-walk_near [data-testid="stGraphVizChart"] svg');
  if (!svg) return {where: null, node: null};
  const node = [...svg.querySelectorAll('g.node')].find(n => [...n.querySelectorAll('path, polygon')]
    .some(p => ['#ffd54f', '#ff8a65'].includes((p.getAttribute('fill') || '').toLowerCase())));
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const fonts = [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale);
  const equation = shown('.st-key-walk_stop .katex');
  const code = shown('.st-key-walk_stop .current');
  const size = (e) => e ? parseFloat(getComputedStyle(e).fontSize) : null;
  return {
    where: document.querySelector('.st-key-walk_buttons strong').textContent,
    node: box(node), equation: box(equation), code: box(code), smallest_label: Math.min(...fonts),
    equation_px: size(equation), code_px: size(code),
    buttons: [...document.querySelectorAll('.st-key-walk_buttons button')]
      .filter(b => b.getBoundingClientRect().width > 0).map(box),
  };
}"""


def open_walk(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Look inside one step").click()
    page.get_by_role("button", name="Take one step and show its maths").click()
    page.get_by_text("Forward pass, 1 of").wait_for()
    # The walk's buttons at the top of the window, below the page's header: where a learner reads from.
    page.locator(".st-key-walk").evaluate(
        "e => { e.scrollIntoView({block: 'start'}); document.querySelector('[data-testid=stMain]').scrollBy(0, -70); }"
    )


def stop(page) -> dict:
    """What the stop shows, once its graph is drawn (the SVG comes after the rerun's text)."""
    wait_until(lambda: page.evaluate(BOXES)["node"] is not None, 15, "the graph shows no current node")
    return page.evaluate(BOXES)


def next_stop(page) -> None:
    """Tap Next and wait for the stop it leads to (the page is not scrolled)."""
    before = stop(page)["where"]
    page.locator(".st-key-walk_next button >> visible=true").click()
    wait_until(lambda: page.evaluate(BOXES)["where"] != before, 15, f"Next did not leave {before}")
    page.wait_for_timeout(400)  # the graph's SVG is drawn after the text


def inside(box, page) -> bool:
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    return box is not None and box[0] >= 0 and box[1] <= height and box[2] >= 0 and box[3] <= width + 1


def walk_every_stop(page, style: str) -> list[dict]:
    graph = inspect_backprop(Trainer(Config.for_style(style)), twin=False).graph
    stops, seen = graph.walk(), []
    for index, (phase, node_id) in enumerate(stops):
        if index:
            next_stop(page)
        shown = stop(page)
        node = graph.nodes[node_id]
        equation = node.back_equation if phase == "backward" and graph.source == "autograd" else node.equation
        where = f"{shown['where']} at {page.viewport_size}"
        assert inside(shown["node"], page), f"{where}: the node is at {shown['node']}"
        assert inside(shown["code"], page), f"{where}: the code line is at {shown['code']}"
        if equation:
            assert inside(shown["equation"], page), f"{where}: the equation is at {shown['equation']}"
        seen.append(shown)
    return seen


@pytest.mark.parametrize("style", ["numpy", "autograd"])
def test_every_stop_has_its_node_equation_and_code_on_one_screen_at_1280x800(browser, server, style):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_walk(page, f"{server}/?style={style}&steps=50")
    assert page.locator('[data-testid="stSidebar"]').bounding_box()["width"] > 200  # the sidebar open
    walk_every_stop(page, style)
    context.close()


def test_in_lecture_mode_the_maths_reads_across_the_room_at_1280x720(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_walk(page, f"{server}/?style=numpy&steps=50&lecture=1")
    seen = walk_every_stop(page, "numpy")
    label_px = page.locator('[data-testid="stMetricLabel"] p').first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert all(s["code_px"] >= 20 for s in seen)
    assert all(s["equation_px"] >= label_px for s in seen if s["equation_px"] is not None)
    context.close()


def test_on_a_phone_the_graph_reads_at_12px_and_next_shows_what_changed(browser, server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    open_walk(page, f"{server}/?style=numpy&steps=50")
    equations = 0
    for _ in range(3):  # to w1, h and h_relu
        next_stop(page)
        shown = stop(page)
        assert shown["smallest_label"] >= 12, shown
        assert inside(shown["node"], page) and inside(shown["code"], page), shown
        assert shown["equation"] is None or inside(shown["equation"], page), shown
        equations += shown["equation"] is not None
        tops = {round(b[0]) for b in shown["buttons"]}
        assert len(shown["buttons"]) == 4 and max(tops) - min(tops) <= 2, f"the buttons are not in one row: {tops}"
    assert equations == 2
    context.close()


def test_a_reload_comes_back_to_the_walks_stop(page, server):
    open_walk(page, f"{server}/?style=numpy&steps=50")
    next_stop(page)
    next_stop(page)
    assert "Forward pass, 3 of 8" in stop(page)["where"]
    page.reload()
    page.get_by_text("Forward pass, 3 of 8").wait_for()


def test_looking_inside_a_trained_run_continues_it_and_catches_a_forgotten_zero_grad(page, server):
    page.goto(f"{server}/?style=module&mistake=no_zero_grad&predict=0")
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 500 steps").wait_for(timeout=120_000)
    page.get_by_text("Look inside one step").click()
    page.get_by_role("button", name="Take one step and show its maths").click()
    page.get_by_text("Step 501 of the run").wait_for()
    assert step(page) == 501
    page.locator('[data-testid="stAlert"]', has_text="Gradient check: does not match").wait_for()
    # The curve still runs from the start to step 501 (thinned to charts.MAX_POINTS points). Plotly
    # decodes the figure's typed arrays into _fullData; `data` may still hold them encoded.
    chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
    first, last = chart.evaluate("e => { const x = e._fullData[0].x; return [x[0], x[x.length - 1]]; }")
    assert first <= 1 and last >= 500, f"the loss curve runs from step {first} to {last}"
    assert metric(page, "Step") == "501"


def test_the_live_check_says_a_forgotten_mask_is_w1_off(page, server):
    page.goto(f"{server}/?style=numpy&mistake=no_relu_mask&steps=300&predict=0")
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished 300 steps").wait_for(timeout=120_000)
    badge = page.locator(".st-key-metrics_row", has_text="Gradients")
    assert "w1 off by" in badge.inner_text()
