"""Look inside one step: one real step, traced through the style's own code, and its graph walked
forward and back with the chain rule at every node (``playground/inspection/``)."""

from __future__ import annotations

import streamlit as st

from ..config import Config
from ..inspection.graph import StepGraph
from ..styles import style_info
from .actions import act, client, inspect, trace_pending
from .code import CSS as CODE_CSS
from .code import WALK_AROUND, walk_html
from .keys import WALK as WALK_KEYS
from .keys import WALK_TEXT


def walk_stop() -> tuple[StepGraph, str, str] | None:
    """The graph being walked, and the stop the walk is at: (graph, pass, node id); None when no
    step has been inspected (the code panel highlights the stop's lines). The stop is kept on
    the run's view, so that a reload of the page comes back to it."""
    c = client()
    inspected = c.view.inspected if c else None
    if not inspected or not inspected.get("graph"):
        return None
    graph = _graph(inspected)
    stops = graph.walk()
    if not stops:
        return None
    at = min(max(c.view.walk_at, 0), len(stops) - 1)
    return graph, *stops[at]


def _graph(inspected: dict) -> StepGraph:
    """The inspected step's graph, rebuilt once per inspection (kept in the session)."""
    ss = st.session_state
    key = id(inspected)
    if ss.get("walk_graph_key") != key:
        ss.walk_graph_key, ss.walk_graph = key, StepGraph.from_dict(inspected["graph"])
    return ss.walk_graph


def _go(to: int) -> None:
    c = client()
    if c is not None:
        c.view.walk_at = to


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
        if trace_pending():
            st.rerun()
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
        _walk(graph, style_info(view.config.style, view.config.mistake).source())
        check_tab, values_tab, twin_tab = st.tabs(["Check the gradients", "Every value", "The same step, two ways"])
        with check_tab:
            _check(check)
        with values_tab:
            _values(inspected["entries"])
        with twin_tab:
            _twin(inspected.get("twin") or {}, view.config.style)


def _walk(graph: StepGraph, source: str) -> None:
    """The walk: its buttons in one row, then the graph beside what the stop shows (its equation,
    shapes, numbers and the lines of code it ran), all in one screen (``look.py`` fits the graph
    to the window's height; on a phone the graph is the stop's neighbourhood, read at full size)."""
    stops = graph.walk()
    stop = walk_stop()
    if stop is None:
        return
    _, phase, current = stop
    at = stops.index((phase, current))
    node = graph.nodes[current]
    read_from = "the lines the step ran" if graph.source == "traced code" else "the graph autograd built"
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
    count = len(graph.forward) if phase == "forward" else len(graph.backward)
    index = at + 1 if phase == "forward" else at - len(graph.forward) + 1
    label = node.label.replace("\\n", " ")
    with st.container(key="walk"):
        with st.container(horizontal=True, key="walk_buttons", vertical_alignment="center"):
            for name, key, to, help_text in moves:
                st.button(
                    name,
                    key=f"walk_{key}",
                    on_click=_go,
                    args=(to,),
                    disabled=to in (at, -1, len(stops)),
                    shortcut=WALK_KEYS[key],
                    help=help_text,
                )
            st.markdown(f"**{phase.capitalize()} pass, {index} of {count}: `{label}`**")
        summary = (
            f"The graph of step {graph.t + 1}, read from {read_from}: {len(graph.nodes)} nodes, "
            f"{len(graph.edges)} edges; the {phase} pass is at {label}."
        )
        graph_column, stop_column = st.columns([3, 2])
        with graph_column:
            with st.container(key="walk_graph"):
                st.graphviz_chart(graph.to_dot(current, phase), width="stretch", alt=summary)
            with st.container(key="walk_near"):
                near = f"{label} and the nodes joined to it, in the graph of step {graph.t + 1}."
                st.graphviz_chart(graph.to_dot(current, phase, near=True), width="content", alt=near)
        with stop_column.container(key="walk_stop"):
            _stop(graph, phase, current, source)
    st.caption(
        f"Read from {read_from}. Forward, top to bottom, each node is the value an operation made; backward, "
        f"the gradients flow back up through the same nodes. {WALK_TEXT}"
    )


def _stop(graph: StepGraph, phase: str, current: str, source: str) -> None:
    """What the walk's stop shows: the node's equation, its shapes, its numbers and its lines."""
    node = graph.nodes[current]
    # On autograd's backward pass a node shows the gradient it received; a hand-written one is its own line.
    back = phase == "backward" and graph.source == "autograd"
    lines = graph.lines(phase, current)
    equation = node.back_equation if back else node.equation
    shape, sample, norm = (
        (node.back_shape, node.back_sample, node.back_norm) if back else (node.shape, node.sample, node.norm)
    )
    if equation:
        st.latex(equation)
    if node.shapes:
        st.caption(f"Shapes: {node.shapes}")
    numbers = ", ".join(f"{v:.4g}" for v in sample)
    shape_text = " × ".join(map(str, shape)) or "a number"
    what = "The gradient it received" if back else "Made"
    st.markdown(f"{what}: shape **{shape_text}**, first numbers `{numbers}`, norm `{norm:.4g}`.")
    read = () if lines else graph.read_at(current)
    if lines or read:
        where = f"line{'s' * (len(lines or read) > 1)} {', '.join(map(str, lines or read))}"
        ran = (
            f"It ran at {where}"
            if lines
            else f"No line made it (a weight, the data, or made inside an operation); {where} reads it"
        )
        st.caption(f"{ran}: marked here, and in the whole file in the code panel.")
        st.html(CODE_CSS + walk_html(source, lines or read, around=WALK_AROUND))
    else:
        st.caption("It ran inside an operation, out of the code's sight.")


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
