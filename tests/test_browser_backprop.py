"""In Chromium: a step's graph walked forward and back with its keys (B and N, Shift for the
ends), the highlight moving in the graph (the rendered SVG) and in the code (the highlighted
line), for a NumPy step and a DynamicNet step; and a classic mistake run from a link, its diff
shown and the gradient check's verdict on it."""

from __future__ import annotations

import time

import pytest

from playground.config import Config
from playground.inspection.step import inspect_backprop
from playground.trainer import Trainer

pytestmark = pytest.mark.browser

HIGHLIGHTED = """() => [...document.querySelectorAll('.st-key-walk_graph [data-testid="stGraphVizChart"] svg g.node')]
    .filter(n => [...n.querySelectorAll('path, polygon')]
        .some(p => ['#ffd54f', '#ff8a65'].includes((p.getAttribute('fill') || '').toLowerCase())))
    .map(n => n.querySelector('title').textContent)"""


def expected_graph(style: str):
    """The same step in this process: the server's run is the same run (same settings, same numbers)."""
    trainer = Trainer(Config.for_style(style))
    return inspect_backprop(trainer, twin=False).graph


def where(page) -> str:
    return page.locator("strong", has_text=" pass, ").first.inner_text()


def press_until(page, key: str, text: str) -> None:
    """Press ``key`` until the walk says ``text``: a key pressed while the page reruns can go
    unheard, and a person presses it again."""
    deadline = time.monotonic() + 30
    while text not in where(page):
        assert time.monotonic() < deadline, f"the walk shows {where(page)!r}, not {text!r}"
        before = where(page)
        page.keyboard.press(key)
        landed = time.monotonic() + 3
        while where(page) == before and time.monotonic() < landed:
            time.sleep(0.05)


def highlighted(page, node_id: str) -> None:
    """The graph highlights ``node_id`` alone (the chart redraws after the rerun)."""
    deadline = time.monotonic() + 15
    while (shown := page.evaluate(HIGHLIGHTED)) != [node_id]:
        assert time.monotonic() < deadline, f"the graph highlights {shown}, not {node_id}"
        time.sleep(0.1)


def code_lines(page) -> list[int]:
    current = page.locator(".st-key-code_panel .bp-walk .current")
    return [int(current.nth(i).get_attribute("data-line")) for i in range(current.count())]


def code_at(page, lines) -> None:
    """The code panel highlights ``lines`` (it is drawn after the graph, in the same rerun)."""
    deadline = time.monotonic() + 15
    while (shown := code_lines(page)) != list(lines):
        assert time.monotonic() < deadline, f"the code highlights lines {shown}, not {list(lines)}"
        time.sleep(0.1)


def open_walk(page, server, style: str) -> None:
    page.goto(f"{server}/?style={style}&steps=50")
    page.get_by_text("Look inside one step").click()
    page.get_by_role("button", name="Take one step and show its maths").click()
    page.get_by_text("Forward pass, 1 of").wait_for()
    page.get_by_role("heading", name="Backprop Playground").click()  # the focus on no control


def test_a_numpy_step_walks_forward_and_back_with_the_keys(page, server):
    graph = expected_graph("numpy")
    open_walk(page, server, "numpy")
    stops = graph.walk()
    for index, (phase, node_id) in enumerate(stops):
        count = len(graph.forward) if phase == "forward" else len(graph.backward)
        number = index + 1 if phase == "forward" else index - len(graph.forward) + 1
        press_until(page, "n", f"{phase.capitalize()} pass, {number} of {count}: {node_id}")
        highlighted(page, node_id)
        code_at(page, graph.nodes[node_id].lines)  # and the code follows
    assert [p for p, _ in stops].count("backward") == 5  # grad_y_pred ... grad_w1
    # Back: from the first backward node to the loss, the last of the forward pass.
    press_until(page, "b", "Backward pass, 1 of 5: grad_y_pred")
    press_until(page, "b", "Forward pass, 8 of 8: loss")
    highlighted(page, "loss")
    code_at(page, graph.nodes["loss"].lines)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_dynamic_step_shows_its_depth_and_walks_back_through_the_shared_weight(page, server):
    graph = expected_graph("dynamic")
    open_walk(page, server, "dynamic")
    page.get_by_text(f"DynamicNet drew depth {graph.depth}").wait_for()
    highlighted(page, graph.forward[0])  # drawn
    titles = page.locator('.st-key-walk_graph [data-testid="stGraphVizChart"] svg g.node title').all_text_contents()
    assert sorted(titles) == sorted(graph.nodes)
    assert graph.uses("middle_linear.weight") == graph.depth  # one edge for each use of the shared weight
    first_op = next(n for n in graph.forward if graph.nodes[n].kind == "op" and graph.nodes[n].lines)
    press_until(page, "n", f": {first_op}")
    highlighted(page, first_op)
    code_at(page, graph.nodes[first_op].lines)
    # Straight into the backward pass (Shift+N): the loss's node first, at the line that calls backward().
    loss = graph.backward[0]
    press_until(page, "Shift+N", f"Backward pass, 1 of {len(graph.backward)}: {loss}")
    highlighted(page, loss)
    code_at(page, graph.lines("backward", loss))
    press_until(page, "b", f"Forward pass, {len(graph.forward)} of {len(graph.forward)}")
    highlighted(page, graph.forward[-1])
    page.locator(".st-key-lecture input").focus()  # a toggle has the focus: the keys still walk
    press_until(page, "Shift+B", f"Forward pass, 1 of {len(graph.forward)}")
    highlighted(page, graph.forward[0])
    assert not page.locator(".st-key-lecture input").is_checked()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_mistake_from_a_link_shows_its_diff_and_the_check_catches_it(page, server):
    page.goto(f"{server}/?style=numpy&mistake=no_relu_mask&steps=50")
    panel = page.locator('[data-testid="stAlert"]', has_text="A classic mistake: The ReLU's mask forgotten")
    panel.wait_for()
    removed = page.locator(".bp-diff .removed")
    assert "grad_h[h < 0] = 0" in removed.first.inner_text()  # the line the mistake leaves out
    assert "MISTAKE" in page.locator(".bp-diff .added").first.inner_text()
    page.get_by_text("Look inside one step").click()
    page.get_by_role("button", name="Take one step and show its maths").click()
    verdict = page.locator('[data-testid="stAlert"]', has_text="Gradient check: does not match")
    verdict.wait_for()
    assert "grad_h is the first gradient that is off, made by line" in verdict.inner_text()
    assert "w1 (off by" in verdict.inner_text()
    page.get_by_role("tab", name="Check the gradients").click()
    table = page.locator('[data-testid="stTable"]').filter(has_text="against finite differences")
    table.wait_for()
    assert "does not match" in table.inner_text() and "matches" in table.inner_text()
    # As written, the same cell passes.
    page.goto(f"{server}/?style=numpy&steps=50")
    page.get_by_text("Look inside one step").click()
    page.get_by_role("button", name="Take one step and show its maths").click()
    page.locator('[data-testid="stAlert"]', has_text="Gradient check: matches").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
