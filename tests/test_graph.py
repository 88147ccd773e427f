"""The graph of one inspected step (``inspection/graph.py``, ``inspection.step.inspect_backprop``) is the step that ran.

Every style, on random data and on a curve, in float64 with small sizes: after two ordinary
steps, one step is inspected, and its graph is checked against what the style's code says and
what the engine computed:

- the nodes and edges: for the hand-written styles the names the step binds and the names each
  line reads (parsed here from the style's own source with ``ast``); for the others the graph
  torch itself built behind ``loss.backward()`` (walked here, on a twin run, from
  ``loss.grad_fn``);
- each node's line, shape and numbers, recomputed here in NumPy from the weights before the step;
- the walk's order, the equations, the twin gradients, the chain-rule rows beside the code,
  the DOT drawing and the dict round trip;
- and that inspecting a step changes nothing in training.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from conftest import SMALL, to_numpy

from playground.config import Config
from playground.inspection.graph import StepGraph
from playground.inspection.maths import chain_rule
from playground.inspection.step import Inspection, inspect_backprop
from playground.styles import STYLES
from playground.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HAND = ["numpy", "tensor"]
AUTOGRAD = ["autograd", "function", "nn", "optim", "module", "dynamic"]
ALL = HAND + AUTOGRAD
DATA = ["random", "sin"]
CURVE_SIZES = {"n": SMALL["n"], "hidden": SMALL["hidden"]}  # a curve has one input and one output
STEPS_BEFORE = 2  # ordinary steps before the inspected one: the weights have moved

#: Each style's weights, by the names its ``parameters()`` gives them.
WEIGHTS = {
    "numpy": ["w1", "w2"],
    "tensor": ["w1", "w2"],
    "autograd": ["w1", "w2"],
    "function": ["w1", "w2"],
    "nn": ["0.weight", "0.bias", "2.weight", "2.bias"],
    "optim": ["0.weight", "0.bias", "2.weight", "2.bias"],
    "module": ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"],
    "dynamic": [
        "input_linear.weight",
        "input_linear.bias",
        "middle_linear.weight",
        "middle_linear.bias",
        "output_linear.weight",
        "output_linear.bias",
    ],
}

#: The hand-written step's names: the forward pass, then the backward pass.
HAND_INPUTS = ["x", "y", "w1", "w2"]
HAND_FORWARD = ["h", "h_relu", "y_pred", "loss"]
HAND_BACKWARD = ["grad_y_pred", "grad_w2", "grad_h_relu", "grad_h", "grad_w1"]

#: The hand-written step's edges (source, target, label), written out from the tutorial's code.
HAND_EDGES = Counter(
    [
        ("x", "h", ""),
        ("w1", "h", ""),
        ("h", "h_relu", ""),
        ("h_relu", "y_pred", ""),
        ("w2", "y_pred", ""),
        ("y_pred", "loss", ""),
        ("y", "loss", ""),
        ("y_pred", "grad_y_pred", ""),
        ("y", "grad_y_pred", ""),
        ("h_relu", "grad_w2", ""),
        ("grad_y_pred", "grad_w2", ""),
        ("grad_y_pred", "grad_h_relu", ""),
        ("w2", "grad_h_relu", ""),
        ("grad_h_relu", "grad_h", ""),
        ("h", "grad_h", "mask"),
        ("x", "grad_w1", ""),
        ("grad_h", "grad_w1", ""),
    ]
)

#: The chain-rule rows' shapes, in letters, by the name each backward line assigns.
CHAIN_SHAPES = {
    "grad_y_pred": "(N×D_out)",
    "grad_w2": "(H×D_out) = (H×N)(N×D_out)",
    "grad_h_relu": "(N×H) = (N×D_out)(D_out×H)",
    "grad_h": "(N×H)",  # the copy
    "grad_h[h < 0]": "(N×H): zero where h < 0",  # the mask
    "grad_w1": "(D_in×H) = (D_in×N)(N×H)",
}

FORWARD_FILL, BACKWARD_FILL = "#ffd54f", "#ff8a65"


# ------------------------------------------------------------------ helpers


def make_config(style: str, data: str = "random", dtype: str = "float64", **overrides) -> Config:
    sizes = SMALL if data == "random" else CURVE_SIZES
    return Config.for_style(style, data=data, dtype=dtype, steps=30, **{**sizes, **overrides})


@dataclass
class Inspected:
    """One inspected step, with what the test needs to recompute it."""

    style: str
    data: str
    trainer: Trainer
    inspection: Inspection
    graph: StepGraph
    before: dict[str, np.ndarray]  # the weights before the inspected step
    x: np.ndarray
    y: np.ndarray


def inspect_next(trainer: Trainer, twin: bool = True) -> Inspected:
    """Inspect the next step of ``trainer``, keeping the weights it started from."""
    before = {name: to_numpy(w) for name, w in trainer.net.parameters().items()}
    x, y = to_numpy(trainer.net.x), to_numpy(trainer.net.y)
    inspection = inspect_backprop(trainer, twin=twin)
    return Inspected(trainer.cfg.style, trainer.cfg.data, trainer, inspection, inspection.graph, before, x, y)


@cache
def inspected(style: str, data: str) -> Inspected:
    """Two ordinary steps, then one inspected step (shared by the tests, which only read it)."""
    trainer = Trainer(make_config(style, data))
    trainer.run(STEPS_BEFORE)
    return inspect_next(trainer)


def base(node_id: str) -> str:
    """An autograd node's kind: ``MmBackward0 (2)`` -> ``MmBackward0``."""
    return re.sub(r" \(\d+\)$", "", node_id)


def numbered(kind: str, count: int) -> list[str]:
    """The ids of ``count`` nodes of one kind, numbered in forward order when there are several."""
    return [kind] if count == 1 else [f"{kind} ({i})" for i in range(1, count + 1)]


def source_lines(style: str) -> list[str]:
    return STYLES[style].source().splitlines()


def function_def(source: str, name: str, cls: str | None = None) -> ast.FunctionDef:
    """The ``def name`` in ``source`` (inside class ``cls`` when given)."""
    scope = ast.parse(source)
    if cls is not None:
        scope = next(n for n in ast.walk(scope) if isinstance(n, ast.ClassDef) and n.name == cls)
    return next(n for n in ast.walk(scope) if isinstance(n, ast.FunctionDef) and n.name == name)


def names_in(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def assigned_names(line: str) -> set[str]:
    """The names a one-line assignment binds or changes in place (``grad_h[h < 0] = 0``: grad_h)."""
    (statement,) = ast.parse(line.strip()).body
    assert isinstance(statement, ast.Assign), line
    found = set()
    for target in statement.targets:
        if isinstance(target, ast.Subscript):
            found.add(target.value.id)
        else:
            found |= names_in(target)
    return found


def edges_from_source(source: str) -> Counter:
    """The hand-written step's data flow, read from its ``step`` with ``ast``: an edge from each
    bound name an assignment reads to each name it binds; an in-place assignment
    (``grad_h[h < 0] = 0``) gives "mask" edges from the names it reads."""
    bound: set[str] = set()
    edges: Counter = Counter()
    for statement in function_def(source, "step").body:
        if not isinstance(statement, ast.Assign):
            continue  # the update (w1 -= ...) and the return
        (target,) = statement.targets
        if isinstance(target, ast.Attribute):
            continue  # self.grads = {...}: kept for the trainer, not a value of the maths
        reads = names_in(statement.value) & bound
        if isinstance(target, ast.Subscript):
            name = target.value.id
            for read in (names_in(target.slice) & bound) | reads:
                edges[(read, name, "mask")] += 1
            continue
        for name in names_in(target):
            for read in reads:
                edges[(read, name, "")] += 1
            bound.add(name)
    return edges


def graph_edges(graph: StepGraph) -> Counter:
    return Counter((e.source, e.target, e.label) for e in graph.edges)


def assert_values(actual_sample, actual_norm, expected, what: str) -> None:
    """A node's first numbers and norm against ``expected``, to rounding (rtol 1e-12)."""
    expected = np.asarray(expected, dtype=np.float64)
    flat = expected.ravel()
    scale = float(np.abs(flat).max()) if flat.size else 0.0
    np.testing.assert_allclose(
        actual_sample, flat[: len(actual_sample)], rtol=1e-12, atol=1e-12 * scale, err_msg=f"{what}: sample"
    )
    assert len(actual_sample) == min(flat.size, 4), what
    np.testing.assert_allclose(actual_norm, np.linalg.norm(flat), rtol=1e-12, err_msg=f"{what}: norm")


# --- what the step computed, recomputed here in NumPy from the weights before it


def hand_values(x, y, w1, w2) -> dict[str, np.ndarray]:
    """The tutorial's hand-written step; each name as the step left it (grad_h masked)."""
    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = h_relu @ w2
    grad_y_pred = 2.0 * (y_pred - y)
    grad_h_relu = grad_y_pred @ w2.T
    grad_h = np.where(h < 0, 0.0, grad_h_relu)
    return {
        "x": x,
        "y": y,
        "w1": w1,
        "w2": w2,
        "h": h,
        "h_relu": h_relu,
        "y_pred": y_pred,
        "loss": np.asarray(np.sum((y_pred - y) ** 2)),
        "grad_y_pred": grad_y_pred,
        "grad_w2": h_relu.T @ grad_y_pred,
        "grad_h_relu": grad_h_relu,
        "grad_h": grad_h,
        "grad_w1": x.T @ grad_h,
    }


@dataclass
class Ref:
    """An autograd node as recomputed here: its forward value (None: made inside an operation,
    it has none) and the gradient it received (None: not checked)."""

    shape: tuple[int, ...]
    forward: np.ndarray | None
    backward: np.ndarray | None = None


#: Each autograd style's layers (weight, bias or None), its ReLU's node and its loss's nodes.
LAYERS = {
    "autograd": ([("w1", None), ("w2", None)], "ClampBackward1", "sum"),
    "function": ([("w1", None), ("w2", None)], "MyReLUBackward", "sum"),
    "nn": ([("0.weight", "0.bias"), ("2.weight", "2.bias")], "ReluBackward0", "mse"),
    "optim": ([("0.weight", "0.bias"), ("2.weight", "2.bias")], "ReluBackward0", "mse"),
    "module": ([("linear1.weight", "linear1.bias"), ("linear2.weight", "linear2.bias")], "ClampBackward1", "mse"),
}


def layers_of(style: str, depth: int | None) -> tuple[list, str, str]:
    if style == "dynamic":
        middle = [("middle_linear.weight", "middle_linear.bias")] * depth
        layers = [("input_linear.weight", "input_linear.bias"), *middle, ("output_linear.weight", "output_linear.bias")]
        return layers, "ClampBackward1", "mse"
    return LAYERS[style]


def autograd_values(style: str, x, y, before: dict[str, np.ndarray], depth: int | None) -> dict[str, Ref]:
    """Every node of an autograd style's graph, by id, recomputed in NumPy: the forward pass
    layer by layer, then the chain rule back through it (a shared weight sums its uses)."""
    layers, relu, loss_kind = layers_of(style, depth)
    biased = layers[0][1] is not None
    layer_ids = numbered("AddmmBackward0" if biased else "MmBackward0", len(layers))
    relu_ids = numbered(relu, len(layers) - 1)
    t_ids = numbered("TBackward0", len(layers)) if biased else []

    # forward
    inputs, outputs, a = [], [], x
    for i, (w, b) in enumerate(layers):
        inputs.append(a)
        h = a @ before[w].T + before[b] if biased else a @ before[w]
        outputs.append(h)
        a = np.maximum(h, 0) if i < len(layers) - 1 else h
    d = a - y  # y_pred - y
    loss = np.asarray(np.sum(d**2))

    # backward
    grads = {name: np.zeros_like(value) for name, value in before.items()}
    refs: dict[str, Ref] = {}
    g = 2.0 * d  # dL/dy_pred
    for i in reversed(range(len(layers))):
        w, b = layers[i]
        refs[layer_ids[i]] = Ref(outputs[i].shape, outputs[i], g)
        if biased:
            grad_wt = inputs[i].T @ g  # the gradient of W.T, as TBackward0 receives it
            refs[t_ids[i]] = Ref(grad_wt.shape, None, grad_wt)
            grads[w] += grad_wt.T
            grads[b] += g.sum(axis=0)
            g_in = g @ before[w]
        else:
            grads[w] += inputs[i].T @ g
            g_in = g @ before[w].T
        if i > 0:
            refs[relu_ids[i - 1]] = Ref(inputs[i].shape, inputs[i], g_in)
            g = np.where(outputs[i - 1] > 0, g_in, 0.0)
    if loss_kind == "sum":
        refs["SubBackward0"] = Ref(d.shape, d, 2.0 * d)
        refs["PowBackward0"] = Ref(d.shape, d**2, np.ones_like(d))
        refs["SumBackward0"] = Ref((), loss, np.asarray(1.0))
    else:
        refs["MseLossBackward0"] = Ref((), loss, np.asarray(1.0))
    for name in {name for layer in layers for name in layer if name is not None}:
        refs[name] = Ref(before[name].shape, before[name], grads[name])
    refs["x"], refs["y"] = Ref(x.shape, x), Ref(y.shape, y)
    return refs


def check_autograd_values(run: Inspected) -> None:
    """Forward: each operation's output; backward: the gradient each node received, and each
    weight's is the gradient the step left in .grad (a weight the step did not use has none)."""
    graph = run.graph
    refs = autograd_values(run.style, run.x, run.y, run.before, graph.depth)
    assert set(refs) == set(graph.nodes)
    for nid, ref in refs.items():
        node = graph.nodes[nid]
        if ref.forward is None:
            assert (node.sample, node.norm) == ((), 0.0), nid
        else:
            assert_values(node.sample, node.norm, ref.forward, nid)
        if ref.backward is not None:
            assert_values(node.back_sample, node.back_norm, ref.backward, f"{nid} (backward)")
    for name, grad in run.trainer.net.gradients().items():
        if grad is None:
            assert name not in graph.nodes, name
        else:
            assert_values(graph.nodes[name].back_sample, graph.nodes[name].back_norm, to_numpy(grad), name)


# --- the graph torch built, walked here on a twin run


def step_keeping_loss(trainer: Trainer):
    """Take one ordinary step of ``trainer``; return the loss tensor its ``step`` built (read
    from the step's frame as it returns)."""
    code = type(trainer.net).step.__code__
    caught = {}

    def local(frame, event, arg):
        if event == "return":
            caught["loss"] = frame.f_locals["loss"]
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        trainer.step()
    finally:
        sys.settrace(previous)
    return caught["loss"]


def torch_graph(loss, net) -> tuple[Counter, Counter]:
    """Torch's own graph behind ``loss``: its nodes' kinds and its edges (child kind, parent
    kind), each weight's AccumulateGrad named by its parameter name."""
    params = net.model.named_parameters() if hasattr(net, "model") else net.weights.items()
    names = {id(p): n for n, p in params}

    def kind(fn) -> str:
        return names[id(fn.variable)] if type(fn).__name__ == "AccumulateGrad" else fn.name()

    nodes, edges, stack, seen = Counter(), Counter(), [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        nodes[kind(fn)] += 1
        for child, _ in fn.next_functions:
            if child is not None:
                edges[(kind(child), kind(fn))] += 1
                stack.append(child)
    return nodes, edges


def expected_kinds(style: str, depth: int | None) -> Counter:
    """An autograd style's node kinds (weights by name), written out from its code."""
    if style in ("autograd", "function"):
        relu = "ClampBackward1" if style == "autograd" else "MyReLUBackward"
        kinds = ["MmBackward0", "MmBackward0", relu, "SubBackward0", "PowBackward0", "SumBackward0"]
        return Counter(kinds + WEIGHTS[style])
    if style in ("nn", "optim", "module"):
        relu = "ReluBackward0" if style != "module" else "ClampBackward1"
        kinds = ["AddmmBackward0"] * 2 + ["TBackward0"] * 2 + [relu, "MseLossBackward0"]
        return Counter(kinds + WEIGHTS[style])
    weights = [w for w in WEIGHTS["dynamic"] if depth or not w.startswith("middle")]
    kinds = ["AddmmBackward0", "TBackward0"] * (depth + 2) + ["ClampBackward1"] * (depth + 1) + ["MseLossBackward0"]
    return Counter(kinds + weights)


def graph_kinds(graph: StepGraph) -> Counter:
    return Counter(base(n.id) for n in graph.nodes.values() if n.kind != "data")


# ------------------------------------------------------------------ the graph is the step


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_graph_describes_the_inspected_step(style, data):
    run = inspected(style, data)
    graph = run.graph
    assert graph.style == style
    assert graph.t == STEPS_BEFORE == run.trainer.steps_done - 1
    assert graph.source == ("traced code" if style in HAND else "autograd")
    assert graph.depth == run.trainer.net.depth
    assert (graph.depth is None) == (style != "dynamic")
    losses = [n for n in graph.nodes.values() if n.kind == "loss"]
    assert len(losses) == 1
    assert losses[0].sample == pytest.approx((run.trainer.last["loss"],), rel=1e-12)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_nodes_are_the_names_the_step_binds(style, data):
    graph = inspected(style, data).graph
    assert set(graph.nodes) == set(HAND_INPUTS + HAND_FORWARD + HAND_BACKWARD)
    kinds = {name: node.kind for name, node in graph.nodes.items()}
    assert kinds == {
        "x": "data",
        "y": "data",
        "w1": "weight",
        "w2": "weight",
        "loss": "loss",
        **{name: "op" for name in ["h", "h_relu", "y_pred", *HAND_BACKWARD]},
    }
    assert all(node.label == node.id for node in graph.nodes.values())


@pytest.mark.parametrize("style", HAND)
def test_the_written_out_edges_are_the_source_code(style):
    assert edges_from_source(STYLES[style].source()) == HAND_EDGES


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_edges_are_what_each_line_reads(style, data):
    graph = inspected(style, data).graph
    assert graph_edges(graph) == edges_from_source(STYLES[style].source())


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_nodes_point_at_the_lines_that_bind_them(style, data):
    graph, lines = inspected(style, data).graph, source_lines(style)
    for name, node in graph.nodes.items():
        assert node.lines, name
        # "Made by" quotes every line it names: the line that binds it, and each that changes it
        assert node.code == "\n".join(lines[n - 1].strip() for n in node.lines), name
        for number in node.lines:
            assert name in assigned_names(lines[number - 1]), (name, number)
    grad_h = graph.nodes["grad_h"].lines
    assert [lines[n - 1].strip().split(" = ")[0] for n in grad_h] == ["grad_h", "grad_h[h < 0]"]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_values_are_the_engines(style, data):
    run = inspected(style, data)
    expected = hand_values(run.x, run.y, run.before["w1"], run.before["w2"])
    assert (expected["h"] < 0).any(), "the ReLU's mask must matter in this step"
    for name, node in run.graph.nodes.items():
        if name == "grad_h":
            continue  # test_hand_written_grad_h_is_the_masked_gradient
        assert_values(node.sample, node.norm, expected[name], name)
    grads = run.trainer.net.gradients()
    for weight in ("w1", "w2"):  # the gradients the step kept, for the update
        node = run.graph.nodes[f"grad_{weight}"]
        assert_values(node.sample, node.norm, to_numpy(grads[weight]), weight)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_grad_h_is_the_masked_gradient(style, data):
    run = inspected(style, data)
    expected = hand_values(run.x, run.y, run.before["w1"], run.before["w2"])["grad_h"]
    node = run.graph.nodes["grad_h"]
    assert_values(node.sample, node.norm, expected, "grad_h")


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", AUTOGRAD)
def test_autograd_node_kinds_are_the_operations_that_ran(style, data):
    graph = inspected(style, data).graph
    assert graph_kinds(graph) == expected_kinds(style, graph.depth)
    weights = {nid for nid, n in graph.nodes.items() if n.kind == "weight"}
    assert weights == set(expected_kinds(style, graph.depth)) & set(WEIGHTS[style])
    assert all(graph.nodes[w].label == f"{w}\\n(AccumulateGrad)" for w in weights)
    assert {nid for nid, n in graph.nodes.items() if n.kind == "data"} == {"x", "y"}


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", AUTOGRAD)
def test_autograd_graph_is_the_one_torch_built(style, data):
    """A twin run, stepped the same way without the inspector: its loss.grad_fn, walked here."""
    run = inspected(style, data)
    twin = Trainer(make_config(style, data))
    twin.run(STEPS_BEFORE)
    nodes, edges = torch_graph(step_keeping_loss(twin), twin.net)
    assert twin.net.depth == run.graph.depth
    graph = run.graph
    assert graph_kinds(graph) == nodes
    inner = [e for e in graph.edges if graph.nodes[e.source].kind != "data"]
    assert Counter((base(e.source), base(e.target)) for e in inner) == edges
    data_edges = Counter((e.source, base(e.target)) for e in graph.edges if graph.nodes[e.source].kind == "data")
    first = "MmBackward0" if style in ("autograd", "function") else "AddmmBackward0"
    last = "SubBackward0" if style in ("autograd", "function") else "MseLossBackward0"
    assert data_edges == Counter([("x", first), ("y", last)])
    assert all(e.label == "" for e in graph.edges)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", AUTOGRAD)
def test_autograd_nodes_point_at_the_lines_that_ran_them(style, data):
    graph, lines = inspected(style, data).graph, source_lines(style)
    step = function_def(STYLES[style].source(), "step")
    backward_line = next(
        n for n in range(step.lineno, step.end_lineno + 1) if lines[n - 1].strip() == "loss.backward()"
    )
    for nid, node in graph.nodes.items():
        if node.kind in ("weight", "data") or base(nid) == "TBackward0":
            assert node.lines == (), nid  # a weight, the data, W.T inside nn.Linear: no line of their own
        else:
            assert node.lines, nid
            assert node.code == lines[node.lines[0] - 1].strip(), nid
        if node.kind != "data" and nid != "MyReLUBackward":
            assert node.back_lines == (backward_line,), nid


def test_custom_function_node_points_into_my_relu():
    source = STYLES["function"].source()
    node = inspected("function", "random").graph.nodes["MyReLUBackward"]
    forward = function_def(source, "forward", cls="MyReLU")
    backward = function_def(source, "backward", cls="MyReLU")
    assert forward.lineno <= node.lines[0] <= forward.end_lineno
    assert node.code == "return input.clamp(min=0)"
    assert node.back_lines
    assert all(backward.lineno <= n <= backward.end_lineno for n in node.back_lines)
    lines = source.splitlines()
    ran = {lines[n - 1].strip() for n in node.back_lines}
    assert {"grad_input = grad_output.clone()", "grad_input[input < 0] = 0", "return grad_input"} <= ran


def test_custom_function_back_lines_are_the_body_of_its_backward():
    source = STYLES["function"].source()
    node = inspected("function", "random").graph.nodes["MyReLUBackward"]
    backward = function_def(source, "backward", cls="MyReLU")
    assert all(backward.lineno < n <= backward.end_lineno for n in node.back_lines)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", AUTOGRAD)
def test_autograd_values_are_the_engines(style, data):
    check_autograd_values(inspected(style, data))


# ------------------------------------------------------------------ the walk's order


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_forward_walk_visits_every_input_before_its_reader(style, data):
    graph = inspected(style, data).graph
    forward_nodes = [n for n in graph.nodes if not n.startswith("grad_")]
    assert sorted(graph.forward) == sorted(forward_nodes)
    position = {nid: i for i, nid in enumerate(graph.forward)}
    for edge in graph.edges:
        if edge.target in position:
            assert position[edge.source] < position[edge.target], edge
    assert graph.walk() == [("forward", n) for n in graph.forward] + [("backward", n) for n in graph.backward]


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", HAND)
def test_hand_written_walk_follows_the_source_lines(style, data):
    graph = inspected(style, data).graph
    ops = [n for n in graph.forward if graph.nodes[n].kind in ("op", "loss")]
    assert ops == HAND_FORWARD
    assert [graph.nodes[n].lines[0] for n in ops] == sorted(graph.nodes[n].lines[0] for n in ops)
    assert graph.backward == HAND_BACKWARD
    assert [graph.nodes[n].lines[0] for n in graph.backward] == sorted(graph.nodes[n].lines[0] for n in HAND_BACKWARD)
    # the edges of the backward pass run between the backward lines, in order too
    position = {nid: i for i, nid in enumerate(graph.forward + graph.backward)}
    assert all(position[e.source] < position[e.target] for e in graph.edges)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", AUTOGRAD)
def test_autograd_backward_runs_from_the_loss_to_the_weights(style, data):
    graph = inspected(style, data).graph
    assert graph.nodes[graph.backward[0]].kind == "loss"
    assert len(graph.backward) == len(set(graph.backward))
    assert set(graph.backward) == {nid for nid, n in graph.nodes.items() if n.kind != "data"}
    position = {nid: i for i, nid in enumerate(graph.backward)}
    for edge in graph.edges:
        if edge.source in position:  # a node runs after every node it fed
            assert position[edge.target] < position[edge.source], edge


# ------------------------------------------------------------------ equations and shapes


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_every_backward_node_has_its_equation(style, data):
    graph = inspected(style, data).graph
    if style in HAND:
        for name in HAND_FORWARD + HAND_BACKWARD:
            assert graph.nodes[name].equation, name
        assert all("frac{\\partial L}" in graph.nodes[name].equation for name in HAND_BACKWARD)
    else:
        for nid, node in graph.nodes.items():
            if node.kind != "data":
                assert node.equation and node.back_equation, nid
        if style == "function":
            assert "backward()" in graph.nodes["MyReLUBackward"].back_equation


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_shapes_are_the_values_shapes(style, data):
    run = inspected(style, data)
    graph = run.graph
    if style in HAND:
        shapes = {k: v.shape for k, v in hand_values(run.x, run.y, run.before["w1"], run.before["w2"]).items()}
    else:
        shapes = {k: ref.shape for k, ref in autograd_values(style, run.x, run.y, run.before, graph.depth).items()}
    assert {nid: node.shape for nid, node in graph.nodes.items()} == shapes
    n, hidden = run.x.shape[0], run.trainer.cfg.hidden
    first = "h" if style in HAND else "MmBackward0 (1)" if style in ("autograd", "function") else "AddmmBackward0 (1)"
    assert graph.nodes[first].shape == (n, hidden)
    for edge in graph.edges:
        assert edge.shape and edge.shape == graph.nodes[edge.source].shape, edge
    if style in AUTOGRAD:
        for nid, node in graph.nodes.items():
            if node.kind != "data":  # the gradient with respect to an output has the output's shape
                assert node.back_shape == node.shape, nid


# ------------------------------------------------------------------ the twin


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_twin_computes_the_same_gradients(style, data):
    run = inspected(style, data)
    twin = run.inspection.twin
    if style == "dynamic":
        assert twin == {}
        return
    assert twin["twin"] == STYLES[style].twin
    assert twin["dtype"] == "float64"
    rows = twin["rows"]
    assert [r["weight"] for r in rows] == WEIGHTS[style]
    assert [r["twin_weight"] for r in rows] == WEIGHTS[STYLES[style].twin]
    for row in rows:
        assert 0.0 <= row["max_rel"] <= 1e-12, row
        scale = float(np.abs(to_numpy(run.trainer.net.gradients()[row["weight"]])).max())
        assert row["max_abs"] <= 1e-12 * max(scale, 1.0), row
        assert row["made_by"] and row["twin_made_by"], row
        assert row["twin_made_by"].endswith(f"AccumulateGrad ({row['twin_weight']})"), row
    if style in HAND:
        for row in rows:
            node = run.graph.nodes[f"grad_{row['weight']}"]
            assert row["made_by"] == f"grad_{row['weight']} (line {node.lines[0]})"


# ------------------------------------------------------------------ the chain rule beside the code


@pytest.mark.parametrize("style", HAND)
def test_chain_rule_has_a_row_per_backward_line(style):
    source = STYLES[style].source()
    lines = source.splitlines()
    step = function_def(source, "step")
    backward = [
        s.lineno
        for s in step.body
        if isinstance(s, ast.Assign) and any(name.startswith("grad_") for name in assigned_names(lines[s.lineno - 1]))
    ]
    rows = chain_rule(source)
    assert [row[0] for row in rows] == backward
    assert len(rows) == 6
    graph = inspected(style, "random").graph
    sizes = {"N": SMALL["n"], "D_in": SMALL["d_in"], "H": SMALL["hidden"], "D_out": SMALL["d_out"]}
    for number, code, latex, shapes in rows:
        assert code == lines[number - 1].strip()
        assert latex.strip()
        assigned = code.split(" = ")[0]
        assert shapes == CHAIN_SHAPES[assigned], code
        # the letters are the shapes of the run: the result's, and a product's inner sizes agree
        out, *product = re.findall(r"\(([^)]*)\)", shapes)
        name = assigned.split("[")[0]
        assert tuple(sizes[s] for s in out.split("×")) == graph.nodes[name].shape
        if product:
            (a, b), (c, d) = (p.split("×") for p in product)
            assert b == c and (a, d) == tuple(out.split("×"))


@pytest.mark.parametrize("style", AUTOGRAD)
def test_chain_rule_is_only_for_the_hand_written_styles(style):
    assert chain_rule(STYLES[style].source()) == []


# ------------------------------------------------------------------ drawing and keeping


NODE_STATEMENT = re.compile(r'^  "((?:[^"\\]|\\.)*)" \[(.*)\];$')
EDGE_STATEMENT = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[(.*)\];$')


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_dot_draws_every_node_once_and_highlights_only_the_current(style, data):
    graph = inspected(style, data).graph
    plain = graph.to_dot()
    assert plain.startswith("digraph step {") and plain.endswith("}")
    assert FORWARD_FILL not in plain and BACKWARD_FILL not in plain
    for phase, fill in (("forward", FORWARD_FILL), ("backward", BACKWARD_FILL)):
        for current in graph.nodes:
            dot = graph.to_dot(current, phase)
            lines = dot.splitlines()
            nodes = [m.groups() for m in map(NODE_STATEMENT.match, lines) if m]
            edges = [m.groups() for m in map(EDGE_STATEMENT.match, lines) if m]
            assert Counter(nid for nid, _ in nodes) == Counter(list(graph.nodes))
            assert Counter((s, t) for s, t, _ in edges) == Counter((e.source, e.target) for e in graph.edges)
            lit = [nid for nid, attrs in nodes if fill in attrs]
            assert lit == [current]
            assert dot.count(fill) == 1 and FORWARD_FILL + BACKWARD_FILL not in dot
            marked = [(s, t) for s, t, attrs in edges if "#c62828" in attrs]
            touching = [(e.source, e.target) for e in graph.edges if current in (e.source, e.target)]
            assert marked == (touching if phase == "backward" else [])


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("style", ALL)
def test_graph_round_trips_through_a_dict(style, data):
    run = inspected(style, data)
    graph = run.graph
    assert StepGraph.from_dict(graph.to_dict()) == graph
    assert StepGraph.from_dict(json.loads(json.dumps(graph.to_dict()))) == graph
    sent = json.loads(json.dumps(run.inspection.to_dict()))  # as the worker sends it
    assert StepGraph.from_dict(sent["graph"]) == graph


# ------------------------------------------------------------------ inspecting costs no training


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("style", ["numpy", "module", "dynamic"])
def test_inspecting_a_step_does_not_change_training(style, dtype):
    cfg = make_config(style, dtype=dtype)
    inspected_run, plain_run = Trainer(cfg), Trainer(cfg)
    inspected_run.run(STEPS_BEFORE)
    plain_run.run(STEPS_BEFORE)
    inspect_backprop(inspected_run)
    row = plain_run.step()
    assert inspected_run.last == row
    for _ in range(3):
        assert inspected_run.step() == plain_run.step()
    after = {k: to_numpy(v) for k, v in plain_run.net.parameters().items()}
    for name, value in inspected_run.net.parameters().items():
        np.testing.assert_array_equal(to_numpy(value), after[name], err_msg=name)


# ------------------------------------------------------------------ DynamicNet's depth


def dynamic_trainer(**overrides) -> Trainer:
    trainer = Trainer(make_config("dynamic", **overrides))
    trainer.run(STEPS_BEFORE)
    return trainer


def check_depth(graph: StepGraph, trainer: Trainer) -> None:
    depth = trainer.net.depth
    assert graph.depth == depth == trainer.last["depth"]
    assert graph.uses("middle_linear.weight") == depth
    assert graph.uses("middle_linear.bias") == depth
    assert ("middle_linear.weight" in graph.nodes) == (depth > 0)
    assert graph_kinds(graph) == expected_kinds("dynamic", depth)
    # the layers numbered in the order they ran, each at the line of its layer
    layers = numbered("AddmmBackward0", depth + 2)
    used = ["input_linear"] + ["middle_linear"] * depth + ["output_linear"]
    for nid, layer in zip(layers, used, strict=True):
        assert f"self.{layer}(" in graph.nodes[nid].code, nid
        assert graph.uses(f"{layer}.bias") >= 1
        assert f"{layer}.bias" in [e.source for e in graph.edges if e.target == nid], nid


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_dynamic_graph_has_the_depth_it_drew(depth):
    run = inspect_next(dynamic_trainer(min_depth=depth, max_depth=depth))
    assert run.graph.depth == depth
    check_depth(run.graph, run.trainer)
    check_autograd_values(run)  # a middle layer used 3 times sums 3 gradients into its weight


def test_dynamic_graphs_differ_with_the_drawn_depth():
    trainer = dynamic_trainer()
    graphs = []
    while len({g.depth for g in graphs}) < 2 or len(graphs) < 4:
        assert len(graphs) < 20, "20 steps drew one depth"
        run = inspect_next(trainer, twin=False)
        check_depth(run.graph, trainer)
        check_autograd_values(run)
        graphs.append(run.graph)
    by_depth = {g.depth: len(g.nodes) for g in graphs}
    assert len(set(by_depth.values())) == len(by_depth)  # another depth, another graph
    for depth, count in by_depth.items():
        assert count == 12 + 3 * depth + (2 if depth else 0)
    for a in graphs:
        for b in graphs:
            if a.depth == b.depth:
                assert [base(n) for n in a.forward] == [base(n) for n in b.forward]
