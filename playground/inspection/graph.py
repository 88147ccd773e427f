"""The graph of one real step: what the forward pass computed, and the chain rule running back.

    inspection = step.inspect_backprop(trainer)   # one real step, traced
    graph = inspection.graph
    graph.forward, graph.backward      # node ids in the order the step ran them
    graph.to_dot(current="h")          # Graphviz DOT, the current node highlighted

Built from what ran (a ``trace.Capture``), never written into the styles:

- the hand-written styles (NumPy, tensors), ``from_trace``: each executed line that binds a name
  is a node (``h = x.dot(w1)``), with an edge from every name the line reads; a line that changes
  a name in place (``grad_h[h < 0] = 0``) adds its edges to that node. Names that start with
  ``grad_`` are the backward pass.
- the other styles, ``from_autograd``: the graph autograd really built behind ``loss.backward()``,
  one node per autograd node (``MmBackward0``, ``AccumulateGrad`` for each weight, ...). Forward,
  each node shows the operation that made it; backward, the gradients it passed on, in the order
  autograd ran them.

Every node carries the line of the style's file that made it, its shape, first numbers and norm,
and its chain-rule equation with the shapes (``maths.py``). This module imports no torch: the
page rebuilds a ``StepGraph`` from its dict.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field

import numpy as np

from ..styles import STYLES
from . import maths

SAMPLE = 4  # first numbers shown of a value


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
    back_shapes: str = ""  # autograd nodes: the gradient's shape, and where it goes
    value: str = ""  # what it holds, in the tutorial's names as code writes them: h_relu, y_pred, w2


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
        pass, the forward line that made the node and the line that called ``backward()`` (or a
        custom Function's own backward)."""
        node = self.nodes[node_id]
        if phase == "backward" and self.source == "autograd":
            return tuple(sorted({*node.lines, *node.back_lines}))
        return node.lines

    def read_at(self, node_id: str) -> tuple[int, ...]:
        """The lines that read a node no line made (a weight, the data, a view made inside an
        operation): those of the first operations downstream that a line ran."""
        found, seen, todo = set(), {node_id}, [node_id]
        while todo:
            for edge in self.edges:
                if edge.source == todo[0] and edge.target not in seen:
                    seen.add(edge.target)
                    target = self.nodes[edge.target]
                    (found.update(target.lines) if target.lines else todo.append(edge.target))
            todo.pop(0)
        return tuple(sorted(found))

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

    def to_dot(self, current: str | None = None, phase: str = "forward", near: bool = False) -> str:
        """Graphviz DOT, top to bottom as the forward pass runs; ``current`` highlighted, and on the
        backward pass the edges drawn as the gradients flow. ``near``: only ``current`` and the
        nodes an edge joins it to (a phone's view, whose labels stay readable)."""
        edges = self.edges
        if near:
            edges = [e for e in self.edges if current in (e.source, e.target)]
        kept = {current} | {e.source for e in edges} | {e.target for e in edges} if near else set(self.nodes)
        node_pt, edge_pt = (13, 11) if near else (11, 9)  # near: shown at its own size, on a phone
        out = [
            "digraph step {",
            '  rankdir=TB; bgcolor="transparent"; nodesep=0.3; ranksep=0.3;',
            f'  node [fontname="Helvetica", fontsize={node_pt}, style="filled,rounded", shape=box, '
            'fillcolor="#f4f4f6", color="#8a8a99"];',
            f'  edge [fontname="Helvetica", fontsize={edge_pt}, color="#8a8a99", fontcolor="#555566"];',
        ]
        for node in (n for n in self.nodes.values() if n.id in kept):
            style = _NODE_STYLE[node.kind]
            if node.id == current:
                fill = "#ffd54f" if phase == "forward" else "#ff8a65"
                style = f'fillcolor="{fill}", color="#c62828", penwidth=2.5'
            shape = shape_text(node.shape)
            label = f"{node.label}\\n{shape}" if shape else node.label
            tip = _quoted((node.code or node.label).replace("\n", "; "))
            out.append(f'  "{_quoted(node.id)}" [label="{_quoted(label)}", tooltip="{tip}", {style}];')
        for edge in edges:
            attrs = [f'label="{shape_text(edge.shape)}"']
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


def shape_text(shape) -> str:
    """A shape as the page writes it: 64×100."""
    return "×".join(str(s) for s in shape) if shape else ""


def summary(array) -> tuple[tuple[int, ...], tuple[float, ...], float]:
    """A value as the page shows it: its shape, first ``SAMPLE`` numbers and norm."""
    array = np.asarray(array)
    flat = array.ravel()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging step overflows
        norm = float(np.linalg.norm(flat.astype(np.float64))) if flat.size else 0.0
    return tuple(array.shape), tuple(float(v) for v in flat[:SAMPLE]), norm


def build(found) -> StepGraph | None:
    """The graph of a captured step (``trace.Capture``): from its lines when its backward pass is
    written by hand, else from autograd's graph. None when no line ran."""
    if found.hand_written:
        return from_trace(found) if found.executed else None
    return from_autograd(found)


# ------------------------------------------------------------------ the hand-written styles


def from_trace(found) -> StepGraph:
    """The graph of a hand-written step, from the lines it executed, in order."""
    graph = StepGraph(found.style, found.t, None, "traced code")
    values = {**found.bound, **{name: found.start[name] for name in found.start if name in found.bound}}
    for lineno, code in found.executed:
        statement = maths.statement(code)
        if not isinstance(statement, ast.Assign):
            continue  # the update of the weights (+=), and the return, come after the backward pass
        reads = [name for name in maths.reads(statement.value) if name in graph.nodes]
        for target in statement.targets:
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                _changed_in_place(graph, target, reads, lineno, code)
            else:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    if name in values:
                        _bound(graph, name, values[name], reads, lineno, code, set(found.start))
    graph.forward = _inputs_first(graph)
    grad_h = graph.nodes.get("grad_h")
    if grad_h is not None and not any(e.target == "grad_h" and e.label == "mask" for e in graph.edges):
        grad_h.equation = maths.UNMASKED_GRAD_H  # what the code computes, not what it should
    return graph


def _changed_in_place(graph: StepGraph, target: ast.Subscript, reads: list[str], lineno: int, code: str) -> None:
    """A line that changes a value in place (``grad_h[h < 0] = 0``): its line, and mask edges."""
    name = target.value.id
    node = graph.nodes.get(name)
    if node is None:
        return
    node.lines += (lineno,)
    node.code += "\n" + code
    for read in [r for r in maths.reads(target.slice) + reads if r in graph.nodes and r != name]:
        graph.edges.append(Edge(read, name, graph.nodes[read].shape, label="mask"))


def _bound(graph: StepGraph, name: str, value, reads: list[str], lineno: int, code: str, weights: set) -> None:
    """A line that binds ``name``: its node, and an edge from each name it reads."""
    shape, sample, norm = summary(value)
    if not reads:  # bound from the style's own data or weights
        kind = "weight" if name in weights else "data"
    else:
        kind = "loss" if name == "loss" else "op"
    equation, operands = maths.HAND_WRITTEN.get(name, ("", []))
    node = Node(name, name, kind, (lineno,), code, shape, sample, norm, equation, value=name)
    node.shapes = _product_shapes(operands, graph.nodes, shape)
    graph.nodes[name] = node
    for read in reads:
        graph.edges.append(Edge(read, name, graph.nodes[read].shape))
    if kind in ("op", "loss"):
        (graph.backward if name.startswith("grad_") else graph.forward).append(name)


def _inputs_first(graph: StepGraph) -> list[str]:
    """The forward walk: each input just before the first operation that reads it."""
    order: list[str] = []
    for name in graph.forward:
        for edge in graph.edges:
            if edge.target == name and graph.nodes[edge.source].kind in ("data", "weight") and edge.source not in order:
                order.append(edge.source)
        order.append(name)
    return order


def _product_shapes(operands, nodes: dict[str, Node], shape) -> str:
    """The shapes of a matrix product, as the equation writes it: (N×H) = (N×D_in)(D_in×H)."""
    if not operands or any(op not in nodes for op, _ in operands):
        return f"({shape_text(shape)})" if shape else "a number"
    parts = []
    for op, transposed in operands:
        s = nodes[op].shape[::-1] if transposed else nodes[op].shape
        parts.append(f"({shape_text(s)})")
    return f"({shape_text(shape)}) = " + "".join(parts)


# ------------------------------------------------------------------ the autograd styles


def from_autograd(found) -> StepGraph:
    """The graph autograd built behind the captured step's ``loss.backward()``."""
    graph = StepGraph(found.style, found.t, found.depth, "autograd")
    ids = _ids(found.nodes, found.names)
    named = symbols(found)
    for fn in found.nodes:
        node = _autograd_node(found, fn, ids[fn], named)
        graph.nodes[node.id] = node
    _autograd_edges(graph, found, ids)
    for fn in found.nodes:
        node = graph.nodes[ids[fn]]
        node.shapes = _edge_shapes(graph, node)
        node.back_shapes = _gradient_goes(graph, node, fn, ids)
    graph.forward = _forward_order(graph, found, ids)
    graph.backward = [ids[fn] for fn in found.fired if fn in ids]
    return _numbered(graph)


def _ids(nodes: list, names: dict[int, str]) -> dict:
    """An id for each autograd node: its name (a weight's for AccumulateGrad), ``#2``... when repeated."""
    ids: dict[object, str] = {}
    for fn in nodes:
        base = _label(fn, names)
        taken = sum(1 for v in ids.values() if v.split("#")[0] == base)
        ids[fn] = base if not taken else f"{base}#{taken + 1}"
    return ids


def _kind(fn) -> str:
    """An autograd node's kind: its class's name, or "custom" for a custom Function's."""
    return "custom" if hasattr(fn, "_forward_cls") else type(fn).__name__


_PRODUCTS = ("MmBackward0", "AddmmBackward0")


def symbols(found) -> dict:
    """Each autograd node's value in the tutorial's names: the weights W_1, b_1... (by their layer,
    ``StyleInfo.layers``), each layer's output h (h_2, ... in DynamicNet's middle), its ReLU's
    h_relu, the last layer's y-hat, then y-hat - y, its square, and L."""
    weights = {}
    for i, layer in enumerate(STYLES[found.style].layers, start=1):
        weights[layer.weight], weights[layer.bias] = f"W_{i}", f"b_{i}"
    ranked = sorted((fn for fn in found.nodes if _kind(fn) in _PRODUCTS), key=lambda fn: _rank(found, fn))
    named: dict = {fn: "h" if i == 0 else f"h_{i + 1}" for i, fn in enumerate(ranked)}
    if ranked:
        named[ranked[-1]] = r"\hat y"
    fixed = {"SubBackward0": r"\hat y - y", "PowBackward0": r"(\hat y - y)^2", "SumBackward0": "L"}
    fixed["MseLossBackward0"] = "L"
    for fn in found.nodes:
        kind = _kind(fn)
        if kind == "AccumulateGrad":
            named[fn] = weights.get(found.names.get(id(fn.variable), ""), "W")
        elif kind in fixed:
            named[fn] = fixed[kind]
    for fn in found.nodes:  # what reads a weight or a layer's output, now that those have theirs
        kind, first = _kind(fn), fn.next_functions[0][0] if fn.next_functions else None
        if kind == "TBackward0":
            named[fn] = rf"{{{named.get(first, 'W')}}}^\top"
        elif kind in ("ClampBackward1", "ReluBackward0", "custom"):
            inner = named.get(first, "h")
            named[fn] = "h_{relu}" if inner == "h" else inner.replace("h_", "h_{relu,", 1) + "}"
    return named


def _rank(found, fn) -> float:
    """An operation's place in the forward pass (its recorded rank; unrecorded ones last)."""
    record = found.made.get(fn)
    return float(record.rank) if record is not None else float("inf")


def _autograd_node(found, fn, node_id: str, symbols: dict) -> Node:
    """One autograd node: the operation that made it (forward), the gradient it received (backward)."""
    names, made = found.names, found.made
    kind = "loss" if fn is found.loss.grad_fn else "weight" if type(fn).__name__ == "AccumulateGrad" else "op"
    own = made.get((getattr(fn, "_forward_cls", None), "backward"))
    operands = [symbols.get(child) if child is not None else None for child, _ in fn.next_functions]
    masked = own is None or own.op != "unmasked"
    forward_eq, backward_eq = maths.autograd_maths(_kind(fn), symbols.get(fn, ""), operands, masked)
    record = made.get(fn) or made.get(getattr(fn, "_forward_cls", None))
    if kind == "weight":
        name = names.get(id(fn.variable), "")
        shape, sample, norm = summary(found.values[name]) if name in found.values else ((), (), 0.0)
        lines, code = (), f"the weight {name}"
    elif record is not None:
        shape, sample, norm = summary(record.value)
        lines, code = record.lines, record.code
    else:  # made inside an operation (a view of a weight, W.T inside nn.Linear)
        shape, sample, norm, lines, code = (), (), 0.0, (), ""
    node = Node(node_id, _display(fn, names), kind, lines, code, shape, sample, norm, forward_eq)
    node.back_equation = backward_eq
    node.value = maths.plain(symbols.get(fn, ""))
    if kind == "weight":
        node.value = names.get(id(fn.variable), "")
    elif _kind(fn) == "TBackward0" and type(fn.next_functions[0][0]).__name__ == "AccumulateGrad":
        node.value = names.get(id(fn.next_functions[0][0].variable), "") + ".T"
    node.back_lines = own.lines if own is not None else found.backward_lines
    if fn in found.grads:
        node.back_shape, node.back_sample, node.back_norm = summary(found.grads[fn])
    if not node.shape and kind != "weight":  # made inside an operation: the gradient it got has its shape
        node.shape = node.back_shape
    return node


def _autograd_edges(graph: StepGraph, found, ids: dict) -> None:
    """Forward direction: each input feeds the operation that read it; the data x and y, which
    have no autograd node (nothing asks for their gradient), join where an operation read them."""
    for fn in found.nodes:
        for child, _ in fn.next_functions:
            if child is not None:
                graph.edges.append(Edge(ids[child], ids[fn], graph.nodes[ids[child]].shape))
        record = found.made.get(fn)
        for tensor_id in record.inputs if record is not None else ():
            name = found.names.get(tensor_id)
            if name in ("x", "y"):
                if name not in graph.nodes:
                    shape, sample, norm = summary(found.values[name])
                    graph.nodes[name] = Node(
                        name, name, "data", (), f"the data {name}", shape, sample, norm, value=name
                    )
                graph.edges.append(Edge(name, ids[fn], graph.nodes[name].shape))


def _forward_order(graph: StepGraph, found, ids: dict) -> list[str]:
    """Forward: the operations in the order they ran; what they read just before them."""
    rank = {}
    for fn in found.nodes:
        record = found.made.get(fn) or found.made.get(getattr(fn, "_forward_cls", None))
        if record is not None:
            rank[ids[fn]] = float(record.rank)
    for _ in range(len(graph.nodes)):
        for edge in graph.edges:
            if edge.target in rank and (edge.source not in rank or rank[edge.source] >= rank[edge.target]):
                rank[edge.source] = rank[edge.target] - 0.5
    return _topological(graph, sorted(graph.nodes, key=lambda n: rank.get(n, float("inf"))))


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


def _gradient_goes(graph: StepGraph, node: Node, fn, ids: dict) -> str:
    """Backward, in words: the gradient the node received, and the inputs it goes to."""
    received = f"({shape_text(node.back_shape)})" if node.back_shape else "a number"
    to = [graph.nodes[ids[child]] for child, _ in fn.next_functions if child is not None and child in ids]
    if not to:
        return received
    where = ", ".join(f"{n.value or n.label} ({shape_text(n.shape) or 'a number'})" for n in to)
    return f"{received} goes to {where}"


def _edge_shapes(graph: StepGraph, node: Node) -> str:
    inputs = [e for e in graph.edges if e.target == node.id and not e.label]
    out = f"({shape_text(node.shape)})" if node.shape else "a number"
    if not inputs:
        return out if node.shape else ""
    return out + " from " + ", ".join(f"{e.source} ({shape_text(e.shape)})" for e in inputs)
