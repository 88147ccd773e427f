"""The graph of one real step: what the forward pass computed, and the chain rule running back.

    inspection = inspect_step.inspect_backprop(trainer)   # one real step, traced
    graph = inspection.graph
    graph.forward, graph.backward      # node ids in the order the step ran them
    graph.to_dot(current="h")          # Graphviz DOT, the current node highlighted

Two sources, both read from what ran, never written into the styles:

- the hand-written styles (NumPy, tensors) build it from the traced step: each executed line
  that binds a name is a node (``h = x.dot(w1)``), with an edge from every name the line reads;
  a line that changes a name in place (``grad_h[h < 0] = 0``) adds its edges to that node. Names
  that start with ``grad_`` are the backward pass.
- the other styles build it from the graph autograd really built behind ``loss.backward()``:
  ``loss.grad_fn`` and its ``next_functions``, one node per autograd node (``MmBackward0``,
  ``AccumulateGrad`` for each weight, ...). Forward, each node shows the operation that made it;
  backward, the gradients it passed on, in the order autograd ran them.

Every node carries the line of the style's file that made it, its shape, first numbers and norm,
and its chain-rule equation with the shapes.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field

SAMPLE = 4

#: The tutorial's hand-written names: how each reads in the maths, and what each is.
SYMBOLS = {
    "x": "x",
    "y": "y",
    "w1": "W_1",
    "w2": "W_2",
    "h": "h",
    "h_relu": "h_{relu}",
    "y_pred": r"\hat y",
    "loss": "L",
    "grad_y_pred": r"\partial L/\partial \hat y",
    "grad_w2": r"\partial L/\partial W_2",
    "grad_h_relu": r"\partial L/\partial h_{relu}",
    "grad_h": r"\partial L/\partial h",
    "grad_w1": r"\partial L/\partial W_1",
}

#: The chain rule of each hand-written line: the equation, and its operands for the shapes
#: (name, transposed) of a matrix product; an empty list for an elementwise line.
HAND_WRITTEN = {
    "h": (r"h = x\,W_1", [("x", False), ("w1", False)]),
    "h_relu": (r"h_{relu} = \max(h,\ 0)", []),
    "y_pred": (r"\hat y = h_{relu}\,W_2", [("h_relu", False), ("w2", False)]),
    "loss": (r"L = \sum (\hat y - y)^2", []),
    "grad_y_pred": (r"\frac{\partial L}{\partial \hat y} = 2\,(\hat y - y)", []),
    "grad_w2": (
        r"\frac{\partial L}{\partial W_2} = h_{relu}^\top\,\frac{\partial L}{\partial \hat y}",
        [("h_relu", True), ("grad_y_pred", False)],
    ),
    "grad_h_relu": (
        r"\frac{\partial L}{\partial h_{relu}} = \frac{\partial L}{\partial \hat y}\,W_2^\top",
        [("grad_y_pred", False), ("w2", True)],
    ),
    "grad_h": (
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
        [],
    ),
    "grad_w1": (
        r"\frac{\partial L}{\partial W_1} = x^\top\,\frac{\partial L}{\partial h}",
        [("x", True), ("grad_h", False)],
    ),
}

#: What each autograd node computed forward, and what it passes back (the chain rule at that node).
AUTOGRAD = {
    "MmBackward0": (
        r"C = A\,B",
        r"\frac{\partial L}{\partial A} = \frac{\partial L}{\partial C}\,B^\top,\quad"
        r"\frac{\partial L}{\partial B} = A^\top\,\frac{\partial L}{\partial C}",
    ),
    "AddmmBackward0": (
        r"C = A\,W^\top + b",
        r"\frac{\partial L}{\partial A} = \frac{\partial L}{\partial C}\,W,\quad"
        r"\frac{\partial L}{\partial W^\top} = A^\top\,\frac{\partial L}{\partial C},\quad"
        r"\frac{\partial L}{\partial b} = \sum_{rows} \frac{\partial L}{\partial C}",
    ),
    "TBackward0": (r"W^\top", r"\frac{\partial L}{\partial W} = \left(\frac{\partial L}{\partial W^\top}\right)^\top"),
    "ClampBackward1": (
        r"h_{relu} = \max(h,\ 0)",
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
    ),
    "ReluBackward0": (
        r"h_{relu} = \mathrm{relu}(h)",
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
    ),
    "SubBackward0": (
        r"d = \hat y - y",
        r"\frac{\partial L}{\partial \hat y} = \frac{\partial L}{\partial d}",
    ),
    "PowBackward0": (r"d^2", r"\frac{\partial L}{\partial d} = 2\,d \odot \frac{\partial L}{\partial (d^2)}"),
    "SumBackward0": (r"L = \sum d^2", r"\frac{\partial L}{\partial (d^2)} = 1 \text{ for every entry}"),
    "MseLossBackward0": (
        r"L = \sum (\hat y - y)^2",
        r"\frac{\partial L}{\partial \hat y} = 2\,(\hat y - y)",
    ),
    "AccumulateGrad": (
        r"W \text{ (a leaf: a weight)}",
        r"W.\mathrm{grad} \mathrel{+}= \frac{\partial L}{\partial W}",
    ),
}
#: A node of a custom ``torch.autograd.Function``: its own backward method runs.
CUSTOM = (
    r"\text{forward()}: \max(x,\ 0)",
    r"\text{backward()}: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial out} \odot [x \geq 0]",
)
#: The same, where its backward masks nothing (a mistake: ``styles.MISTAKES``).
CUSTOM_UNMASKED = r"\text{backward()}: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial out}" + (
    r"\quad \text{(no mask: wrong where } x < 0\text{)}"
)
#: A hand-written grad_h that no line masks (a mistake).
UNMASKED_GRAD_H = r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \quad" + (
    r"\text{(no mask: wrong where } h < 0\text{)}"
)


@dataclass
class Node:
    id: str
    label: str  # what the graph shows: a name (h, w1) or an autograd node (MmBackward0)
    kind: str  # "data", "weight", "op" or "loss"
    lines: tuple[int, ...]  # the lines of the style's file that made it (forward)
    code: str  # the first of them
    shape: tuple[int, ...] = ()
    sample: tuple[float, ...] = ()
    norm: float = 0.0
    equation: str = ""  # LaTeX: what it computed (forward) or the chain rule there (backward)
    shapes: str = ""  # the equation's shapes, in words
    back_lines: tuple[int, ...] = ()  # the lines that ran its backward (autograd nodes)
    back_shape: tuple[int, ...] = ()  # autograd nodes: the gradient it received
    back_sample: tuple[float, ...] = ()
    back_norm: float = 0.0
    back_equation: str = ""


@dataclass
class Edge:
    source: str
    target: str
    shape: tuple[int, ...]  # the shape of what flows along it (forward)
    label: str = ""


@dataclass
class StepGraph:
    style: str
    t: int  # the step's index, from 0, as the tutorial's loop counts
    depth: int | None  # DynamicNet: the depth this step drew
    source: str  # "traced code" or "autograd"
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)  # node ids, in the order the forward pass made them
    backward: list[str] = field(default_factory=list)  # node ids, in the order the backward pass ran

    def walk(self) -> list[tuple[str, str]]:
        """(pass, node id) for every stop of the walk: forward, then backward."""
        return [("forward", n) for n in self.forward] + [("backward", n) for n in self.backward]

    def lines(self, phase: str, node_id: str) -> tuple[int, ...]:
        """The lines of the style's file that ran ``node_id`` on that pass: on autograd's backward
        pass, the line that called ``backward()`` (or a custom Function's own backward)."""
        node = self.nodes[node_id]
        return node.back_lines if phase == "backward" and self.source == "autograd" else node.lines

    def uses(self, node_id: str) -> int:
        """How many operations read ``node_id`` (a shared weight is read once per use)."""
        return sum(1 for edge in self.edges if edge.source == node_id)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StepGraph:
        nodes = {k: Node(**{**v, **{f: tuple(v[f]) for f in _TUPLES}}) for k, v in data["nodes"].items()}
        edges = [Edge(**{**e, "shape": tuple(e["shape"])}) for e in data["edges"]]
        rest = {k: v for k, v in data.items() if k not in ("nodes", "edges")}
        return cls(**rest, nodes=nodes, edges=edges)

    def to_dot(self, current: str | None = None, phase: str = "forward") -> str:
        """Graphviz DOT, top to bottom as the forward pass runs; ``current`` highlighted, and on the
        backward pass the edges drawn as the gradients flow."""
        out = [
            "digraph step {",
            '  rankdir=TB; bgcolor="transparent"; nodesep=0.3; ranksep=0.3;',
            '  node [fontname="Helvetica", fontsize=11, style="filled,rounded", shape=box, '
            'fillcolor="#f4f4f6", color="#8a8a99"];',
            '  edge [fontname="Helvetica", fontsize=9, color="#8a8a99", fontcolor="#555566"];',
        ]
        for node in self.nodes.values():
            style = _NODE_STYLE[node.kind]
            if node.id == current:
                fill = "#ffd54f" if phase == "forward" else "#ff8a65"
                style = f'fillcolor="{fill}", color="#c62828", penwidth=2.5'
            shape = _shape_text(node.shape)
            label = f"{node.label}\\n{shape}" if shape else node.label
            tip = _quoted(node.code or node.label)
            out.append(f'  "{_quoted(node.id)}" [label="{_quoted(label)}", tooltip="{tip}", {style}];')
        for edge in self.edges:
            attrs = [f'label="{_shape_text(edge.shape)}"']
            if edge.label:
                attrs = [f'label="{edge.label}"', 'style="dashed"']
            if phase == "backward" and current in (edge.source, edge.target):
                attrs.append('color="#c62828", penwidth=2')
            out.append(f'  "{_quoted(edge.source)}" -> "{_quoted(edge.target)}" [{", ".join(attrs)}];')
        out.append("}")
        return "\n".join(out)


_TUPLES = ("lines", "shape", "sample", "back_lines", "back_shape", "back_sample")
_NODE_STYLE = {
    "data": 'fillcolor="#e3f2fd", color="#64b5f6"',
    "weight": 'fillcolor="#e8f5e9", color="#66bb6a"',
    "op": 'fillcolor="#f4f4f6", color="#8a8a99"',
    "loss": 'fillcolor="#fce4ec", color="#ec407a"',
}


def _quoted(text: str) -> str:
    """Text inside a DOT string: its quotes escaped (a label's ``\\n`` line breaks stay)."""
    return text.replace('"', '\\"')


def _shape_text(shape) -> str:
    return "×".join(str(s) for s in shape) if shape else ""


def summary(array) -> tuple[tuple[int, ...], tuple[float, ...], float]:
    """A value as the page shows it: its shape, first ``SAMPLE`` numbers and norm."""
    import numpy as np

    array = np.asarray(array)
    flat = array.ravel()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging step overflows
        norm = float(np.linalg.norm(flat.astype(np.float64))) if flat.size else 0.0
    return tuple(array.shape), tuple(float(v) for v in flat[:SAMPLE]), norm


# ------------------------------------------------------------------ the hand-written styles


def _reads(expression: ast.AST) -> list[str]:
    """The names an expression reads, in the order they are written, once each."""
    names = sorted((n for n in ast.walk(expression) if isinstance(n, ast.Name)), key=lambda n: n.col_offset)
    return list(dict.fromkeys(n.id for n in names))


def _statement(code: str) -> ast.stmt | None:
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    return body[0] if len(body) == 1 else None


def from_trace(style: str, t: int, executed: list[tuple[int, str]], values: dict, weights: set[str]) -> StepGraph:
    """The graph of a hand-written step, from the lines it executed, in order (line, code).

    ``values`` holds each name's array as the step left it (its inputs as they came in);
    ``weights`` are the names of the style's weights.
    """
    graph = StepGraph(style, t, None, "traced code")
    for lineno, code in executed:
        statement = _statement(code)
        if isinstance(statement, ast.AugAssign | ast.Return) or statement is None:
            continue  # the update of the weights, and the return, come after the backward pass
        if not isinstance(statement, ast.Assign):
            continue
        reads = [name for name in _reads(statement.value) if name in graph.nodes]
        for target in statement.targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                name = target.value.id  # changed in place: grad_h[h < 0] = 0
                node = graph.nodes.get(name)
                if node is None:
                    continue
                node.lines += (lineno,)
                for read in [r for r in _reads(target.slice) + reads if r in graph.nodes and r != name]:
                    graph.edges.append(Edge(read, name, graph.nodes[read].shape, label="mask"))
                continue
            names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
            for name in names:
                if name not in values:
                    continue
                shape, sample, norm = summary(values[name])
                if not reads:  # bound from the style's own data or weights
                    kind = "weight" if name in weights else "data"
                elif name == "loss":
                    kind = "loss"
                else:
                    kind = "op"
                equation, operands = HAND_WRITTEN.get(name, ("", []))
                node = Node(name, name, kind, (lineno,), code, shape, sample, norm, equation)
                node.shapes = _product_shapes(name, operands, graph.nodes, shape)
                graph.nodes[name] = node
                for read in reads:
                    graph.edges.append(Edge(read, name, graph.nodes[read].shape))
                if kind in ("op", "loss"):
                    (graph.backward if name.startswith("grad_") else graph.forward).append(name)
    graph.forward = _inputs_first(graph)
    grad_h = graph.nodes.get("grad_h")
    if grad_h is not None and not any(e.target == "grad_h" and e.label == "mask" for e in graph.edges):
        grad_h.equation = UNMASKED_GRAD_H  # what the code computes, not what it should
    return graph


def _inputs_first(graph: StepGraph) -> list[str]:
    """The forward walk: each input just before the first operation that reads it."""
    order: list[str] = []
    for name in graph.forward:
        for edge in graph.edges:
            if edge.target == name and graph.nodes[edge.source].kind in ("data", "weight") and edge.source not in order:
                order.append(edge.source)
        order.append(name)
    return order


def _product_shapes(name: str, operands, nodes: dict[str, Node], shape) -> str:
    """The shapes of a matrix product, as the equation writes it: (N×H) = (N×D_in)(D_in×H)."""
    if not operands or any(op not in nodes for op, _ in operands):
        return f"({_shape_text(shape)})" if shape else "a number"
    parts = []
    for op, transposed in operands:
        s = nodes[op].shape[::-1] if transposed else nodes[op].shape
        parts.append(f"({_shape_text(s)})")
    return f"({_shape_text(shape)}) = " + "".join(parts)


# ------------------------------------------------------------------ the autograd styles


@dataclass
class Made:
    """What a forward operation made, recorded as it ran (``inspect_step``'s recorder)."""

    op: str
    rank: int  # its place among the step's operations
    lines: tuple[int, ...]  # the lines of the style's file that ran it
    code: str
    value: object  # a NumPy copy of its output
    inputs: list[int] = field(default_factory=list)  # ids of its tensor arguments


def from_autograd(
    style: str,
    t: int,
    depth: int | None,
    loss,
    made: dict,
    fired: list,
    grads: dict,
    names: dict[int, str],
    values: dict[str, object],
    backward_lines: tuple[int, ...],
) -> StepGraph:
    """The graph autograd built for ``loss``.

    ``made``: autograd node (or a custom Function's class) -> ``Made``, its forward operation;
    ``fired``: the nodes in the order their backward ran; ``grads``: node -> the gradient it
    received; ``names``: tensor id -> the style's name for it (x, y, and each weight by its
    parameter name); ``values``: those tensors as the step found them; ``backward_lines``: the
    line that called ``backward()``. A custom Function's own backward lines are in ``made``,
    under ``(its class, "backward")``.
    """
    graph = StepGraph(style, t, depth, "autograd")
    ids: dict[object, str] = {}
    order: list[object] = []  # each autograd node once, from the loss down

    stack, seen = [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        stack.extend(child for child, _ in reversed(fn.next_functions) if child is not None)

    for fn in order:
        base = _label(fn, names)
        taken = sum(1 for v in ids.values() if v.split("#")[0] == base)
        ids[fn] = base if not taken else f"{base}#{taken + 1}"

    for fn in order:
        kind = "loss" if fn is loss.grad_fn else "weight" if type(fn).__name__ == "AccumulateGrad" else "op"
        forward_eq, backward_eq = _autograd_equations(fn)
        record = made.get(fn) or made.get(getattr(fn, "_forward_cls", None))
        if kind == "weight":
            name = names.get(id(fn.variable), "")
            shape, sample, norm = summary(values[name]) if name in values else ((), (), 0.0)
            lines, code = (), f"the weight {name}"
        elif record is not None:
            shape, sample, norm = summary(record.value)
            lines, code = record.lines, record.code
        else:  # made inside an operation (a view of a weight, W.T inside nn.Linear)
            shape, sample, norm, lines, code = (), (), 0.0, (), ""
        node = Node(ids[fn], _display(fn, names), kind, lines, code, shape, sample, norm, forward_eq)
        node.back_equation = backward_eq
        own = made.get((getattr(fn, "_forward_cls", None), "backward"))
        node.back_lines = own.lines if own is not None else backward_lines
        if own is not None and own.op == "unmasked":
            node.back_equation = CUSTOM_UNMASKED
        if fn in grads:
            node.back_shape, node.back_sample, node.back_norm = summary(grads[fn])
        if not node.shape and kind != "weight":  # made inside an operation: the gradient it got has its shape
            node.shape = node.back_shape
        graph.nodes[ids[fn]] = node

    for fn in order:  # forward direction: each input feeds the operation that read it
        for child, _ in fn.next_functions:
            if child is not None:
                graph.edges.append(Edge(ids[child], ids[fn], graph.nodes[ids[child]].shape))
        record = made.get(fn)
        for tensor_id in record.inputs if record is not None else ():
            name = names.get(tensor_id)
            if name in ("x", "y"):  # data: no autograd node, since nothing asks for its gradient
                if name not in graph.nodes:
                    shape, sample, norm = summary(values[name])
                    graph.nodes[name] = Node(name, name, "data", (), f"the data {name}", shape, sample, norm)
                graph.edges.append(Edge(name, ids[fn], graph.nodes[name].shape))
    for node in graph.nodes.values():
        node.shapes = _edge_shapes(graph, node)

    # Forward: the operations in the order they ran; what they read just before them.
    rank = {}
    for fn in order:
        record = made.get(fn) or made.get(getattr(fn, "_forward_cls", None))
        if record is not None:
            rank[ids[fn]] = float(record.rank)
    for _ in range(len(graph.nodes)):
        for edge in graph.edges:
            if edge.target in rank and edge.source not in rank:
                rank[edge.source] = rank[edge.target] - 0.5
            elif edge.target in rank and rank[edge.source] >= rank[edge.target]:
                rank[edge.source] = rank[edge.target] - 0.5
    graph.forward = _topological(graph, sorted(graph.nodes, key=lambda n: rank.get(n, float("inf"))))
    graph.backward = [ids[fn] for fn in fired if fn in ids]
    return _numbered(graph)


def _numbered(graph: StepGraph) -> StepGraph:
    """Nodes of the same kind numbered in the order the forward pass made them: MmBackward0 (1), (2)."""
    bases = [nid.split("#")[0] for nid in graph.forward]
    rename, seen = {}, {}
    for nid, base in zip(graph.forward, bases, strict=True):
        if bases.count(base) > 1:
            seen[base] = seen.get(base, 0) + 1
            rename[nid] = f"{base} ({seen[base]})"
    if not rename:
        return graph
    nodes = {}
    for nid, node in graph.nodes.items():
        node.id = rename.get(nid, nid)
        if nid in rename:
            node.label = rename[nid]
        nodes[node.id] = node
    graph.nodes = nodes
    for edge in graph.edges:
        edge.source, edge.target = rename.get(edge.source, edge.source), rename.get(edge.target, edge.target)
    graph.forward = [rename.get(n, n) for n in graph.forward]
    graph.backward = [rename.get(n, n) for n in graph.backward]
    for node in graph.nodes.values():
        node.shapes = _edge_shapes(graph, node)
    return graph


def _topological(graph: StepGraph, order: list[str]) -> list[str]:
    """``order`` made consistent with the edges: a node never before one it reads."""
    placed: list[str] = []
    pending = list(order)
    while pending:
        for nid in pending:
            if all(e.source in placed or e.source == nid for e in graph.edges if e.target == nid):
                placed.append(nid)
                pending.remove(nid)
                break
        else:  # autograd's graph has no cycle; keep the rest as they are
            placed += pending
            break
    return placed


def _label(fn, names: dict[int, str]) -> str:
    if type(fn).__name__ == "AccumulateGrad":
        return names.get(id(fn.variable), "weight")
    return fn.name()


def _display(fn, names: dict[int, str]) -> str:
    if type(fn).__name__ == "AccumulateGrad":
        return f"{names.get(id(fn.variable), 'weight')}\\n(AccumulateGrad)"
    return fn.name()


def _autograd_equations(fn) -> tuple[str, str]:
    if hasattr(fn, "_forward_cls"):
        return CUSTOM
    return AUTOGRAD.get(type(fn).__name__, AUTOGRAD.get(fn.name(), ("", "")))


def _edge_shapes(graph: StepGraph, node: Node) -> str:
    inputs = [e for e in graph.edges if e.target == node.id and not e.label]
    out = f"({_shape_text(node.shape)})" if node.shape else "a number"
    if not inputs:
        return out if node.shape else ""
    return out + " from " + ", ".join(f"{e.source} ({_shape_text(e.shape)})" for e in inputs)


# ------------------------------------------------------------------ the chain rule beside the code

#: The tutorial's sizes by name: each hand-written value's shape, in letters.
SIZES = {
    "x": ("N", "D_in"),
    "y": ("N", "D_out"),
    "w1": ("D_in", "H"),
    "w2": ("H", "D_out"),
    "h": ("N", "H"),
    "h_relu": ("N", "H"),
    "y_pred": ("N", "D_out"),
}


def _letters(name: str) -> tuple[str, ...]:
    return SIZES.get(name.removeprefix("grad_"), ())


def chain_rule(source: str) -> list[tuple[int, str, str, str]]:
    """Each backward line of a hand-written step in ``source``: (line number, code, LaTeX, shapes
    in letters), e.g. ``grad_w2 = h_relu.T.dot(grad_y_pred)`` with
    (H×D_out) = (H×N)(N×D_out)."""
    rows = []
    statements = [_statement(line.strip()) for line in source.splitlines()]
    masked = any(isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript) for s in statements)
    for number, line in enumerate(source.splitlines(), start=1):
        statement = statements[number - 1]
        if not isinstance(statement, ast.Assign) or not isinstance(statement.targets[0], ast.Name | ast.Subscript):
            continue
        target = statement.targets[0]
        name = target.id if isinstance(target, ast.Name) else getattr(target.value, "id", "")
        if not name.startswith("grad_") or name not in HAND_WRITTEN:
            continue
        equation, operands = HAND_WRITTEN[name]
        out = "×".join(_letters(name))
        value = statement.value
        if isinstance(value, ast.Call) and getattr(value.func, "attr", "") in ("copy", "clone"):
            copied = getattr(value.func.value, "id", "")
            equation = rf"{SYMBOLS[name]} \leftarrow {SYMBOLS.get(copied, copied)} \text{{ (a copy, masked next)}}"
            if not masked:  # no line masks it: what the code computes, not what it should
                equation = UNMASKED_GRAD_H
            rows.append((number, line.strip(), equation, f"({out})"))
            continue
        if isinstance(target, ast.Subscript):
            shapes = f"({out}): zero where h < 0"
        elif operands:
            parts = "".join(f"({'×'.join(_letters(op)[::-1] if t else _letters(op))})" for op, t in operands)
            shapes = f"({out}) = {parts}"
        else:
            shapes = f"({out})"
        rows.append((number, line.strip(), equation, shapes))
    return rows
