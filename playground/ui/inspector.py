"""Look inside one step: one real step, traced through the style's own code, and its graph walked
forward and back with the chain rule at every node (``playground/inspection/``)."""

from __future__ import annotations

import streamlit as st

from ..config import Config
from ..inspection.graph import StepGraph
from ..styles import style_info
from .actions import act, client, inspect
from .keys import WALK as WALK_KEYS
from .keys import WALK_TEXT


def walk_stop() -> tuple[StepGraph, str, str] | None:
    """The graph being walked, and the stop the walk is at: (graph, pass, node id); None when no
    step has been inspected (the code panel highlights the stop's lines)."""
    c = client()
    inspected = c.view.inspected if c else None
    if not inspected or not inspected.get("graph"):
        return None
    graph = _graph(inspected)
    stops = graph.walk()
    if not stops:
        return None
    at = min(max(st.session_state.get("walk_at", 0), 0), len(stops) - 1)
    return graph, *stops[at]


def _graph(inspected: dict) -> StepGraph:
    """The inspected step's graph, rebuilt once per inspection (kept in the session)."""
    ss = st.session_state
    key = id(inspected)
    if ss.get("walk_graph_key") != key:
        ss.walk_graph_key, ss.walk_graph = key, StepGraph.from_dict(inspected["graph"])
        ss.walk_at = 0  # a new step: the walk starts again
    return ss.walk_graph


def _go(to: int) -> None:
    st.session_state.walk_at = to


def inspector(cfg: Config | None) -> None:
    c = client()
    view = c.view if c else None
    running = bool(c and c.active)
    inspected = view.inspected if view else None
    with st.expander("Look inside one step", expanded=bool(inspected)):
        st.caption(
            "Takes one real training step while following the code on the right line by line: the graph "
            "of the step, walked forward and back with the chain rule at every node, and every value it made."
        )
        st.button(
            "Take one step and show its maths",
            key="inspect_button",
            disabled=cfg is None or running,
            on_click=act,
            args=(inspect,),
        )
        if not inspected:
            return
        if inspected.get("note"):  # a diverged run: its last finite step, or why it was not replayed
            (st.info if inspected.get("graph") else st.warning)(inspected["note"])
        graph = _graph(inspected) if inspected.get("graph") else None
        if graph is None:
            return
        t = graph.t
        depth = ""
        if graph.depth is not None:
            depth = f" DynamicNet drew depth {graph.depth}: its middle layer ran {graph.depth} times."
        module = style_info(view.config.style, view.config.mistake).module
        st.markdown(f"**Step {t + 1}** of the run (the tutorial's `t = {t}`), in `{module}.py`.{depth}")
        check = inspected.get("check") or {}
        if check:
            _verdict(check)
        # The walk stands outside the tabs: a focused tab takes the arrow keys for itself.
        _walk(graph)
        check_tab, values_tab, twin_tab = st.tabs(["Check the gradients", "Every value", "The same step, two ways"])
        with check_tab:
            _check(check)
        with values_tab:
            _values(inspected["entries"])
        with twin_tab:
            _twin(inspected.get("twin") or {}, view.config.style)


def _walk(graph: StepGraph) -> None:
    stops = graph.walk()
    stop = walk_stop()
    if stop is None:
        return
    _, phase, current = stop
    at = st.session_state.walk_at = stops.index((phase, current))
    node = graph.nodes[current]
    source = "the lines the step ran" if graph.source == "traced code" else "the graph autograd built"
    moves = (  # label, key, the stop it goes to, help
        ("Start", "forward", 0, f"Back to the start of the forward pass. Key: {WALK_KEYS['forward']}."),
        ("Back", "back", at - 1, f"One node back. Key: {WALK_KEYS['back']}."),
        ("Next", "next", at + 1, f"One node on. Key: {WALK_KEYS['next']}."),
        (
            "Backprop",
            "backward",
            len(graph.forward),
            f"Straight to the start of the backward pass. Key: {WALK_KEYS['backward']}.",
        ),
    )
    for column, (label, key, to, help_text) in zip(st.columns(len(moves)), moves, strict=True):
        column.button(
            label,
            key=f"walk_{key}",
            on_click=_go,
            args=(to,),
            disabled=to in (at, -1, len(stops)),
            shortcut=WALK_KEYS[key],
            help=help_text,
            width="stretch",
        )
    count = len(graph.forward) if phase == "forward" else len(graph.backward)
    index = at + 1 if phase == "forward" else at - len(graph.forward) + 1
    label = node.label.replace("\\n", " ")
    st.markdown(f"**{phase.capitalize()} pass, {index} of {count}: `{label}`**")
    summary = (
        f"The graph of step {graph.t + 1}, read from {source}: {len(graph.nodes)} nodes, "
        f"{len(graph.edges)} edges; the {phase} pass is at {label}."
    )
    st.graphviz_chart(graph.to_dot(current, phase), width="stretch", alt=summary)
    st.caption(
        f"Read from {source}. Forward, top to bottom, each node is the value an operation made; backward, "
        f"the gradients flow back up through the same nodes. {WALK_TEXT}"
    )
    _stop(graph, phase, current)


def _stop(graph: StepGraph, phase: str, current: str) -> None:
    """What the walk's stop shows: the node's equation, its shapes, its line and its numbers."""
    node = graph.nodes[current]
    # On autograd's backward pass a node shows the gradient it received; a hand-written one is its own line.
    back = phase == "backward" and graph.source == "autograd"
    lines = graph.lines(phase, current)
    code, equation = ("", node.back_equation) if back else (node.code, node.equation)
    shape, sample, norm = (
        (node.back_shape, node.back_sample, node.back_norm) if back else (node.shape, node.sample, node.norm)
    )
    what = "the gradient it received" if back else "made"
    if equation:
        st.latex(equation)
    if node.shapes:
        st.caption(f"Shapes: {node.shapes}")
    line_text = f"line {', '.join(map(str, lines))}" if lines else "inside an operation"
    if code:
        st.markdown(f"Made by {line_text}: `{code}`")
    elif lines:
        st.markdown(f"Ran at {line_text} of the code on the right.")
    numbers = ", ".join(f"{v:.4g}" for v in sample)
    shape_text = " × ".join(map(str, shape)) or "a number"
    st.markdown(f"{what.capitalize()}: shape **{shape_text}**, first numbers `{numbers}`, norm `{norm:.4g}`.")


def _values(entries: list[dict]) -> None:
    st.table(
        {
            "value": [e["name"] for e in entries],
            "made by": [f"line {e['line']}: {e['code']}" for e in entries],
            "shape": [" × ".join(map(str, e["shape"])) or "scalar" for e in entries],
            "first numbers": [", ".join(f"{v:.4g}" for v in e["sample"]) for e in entries],
            "norm": [f"{e['norm']:.4g}" for e in entries],
        }
    )


def _twin(twin: dict, style: str) -> None:
    if not twin:
        st.caption(
            f"`{style}` has no twin: no other cell computes the same gradients (DynamicNet draws its own depth)."
        )
        return
    other = twin["twin"]
    st.caption(
        f"The same step in `{other}`, from the same weights and data: which node made each gradient, and how far "
        f"apart they are ({twin['dtype']}; in float64 zero or at rounding, about 1e-16 of the largest)."
    )
    rows = twin["rows"]
    st.table(
        {
            f"weight ({style})": [r["weight"] for r in rows],
            f"made by ({style})": [r["made_by"] for r in rows],
            f"made by ({other})": [r["twin_made_by"] for r in rows],
            "largest difference": [f"{r['max_abs']:.3g}" for r in rows],
            "relative": [f"{r['max_rel']:.3g}" for r in rows],
        }
    )


def _verdict(check: dict) -> None:
    """The gradient check's verdict, in a word."""
    if check["verdict"] == "matches":
        st.success(
            "**Gradient check: matches.** Every weight's gradient agrees with autograd and with finite "
            "differences on this step."
        )
    else:
        st.error(f"**Gradient check: {check['verdict']}.**")


def _check(check: dict) -> None:
    if not check:
        return
    st.caption(
        f"Each weight's gradient as the style computed it, against autograd on the same forward pass in "
        f"float64 (every entry) and against central finite differences of the loss ({check['samples']} "
        f"entries of each weight, drawn at random). The largest relative error of each; it matches at "
        f"{check['tolerance']:g} or less (this run is {check['dtype']})."
    )
    rows = check["rows"]
    st.table(
        {
            "weight": [r["weight"] for r in rows],
            "against autograd": [f"{r['autograd']:.2g}" for r in rows],
            "against finite differences": [f"{r['finite_differences']:.2g}" for r in rows],
            "verdict": ["matches" if r["matches"] else "does not match" for r in rows],
            "made by": [r["made_by"] for r in rows],
        }
    )
