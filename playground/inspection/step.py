"""Look inside one step: the step traced, its graph, the gradient check, and the same step in the
style's twin cell.

    inspection = inspect_backprop(trainer)     # takes one real step, like trainer.step()
    inspection.entries                         # every value the step made (trace.Intermediate)
    inspection.graph                           # its graph (graph.StepGraph)
    inspection.check["verdict"]                # "matches", or where to look
    inspection.twin["rows"]                    # its gradients beside the twin cell's

So the numbers the panel shows are the engine's own numbers for that step. The twin
(``StyleInfo.twin``: the cell before or after that computes the same maths by other means) takes
the same step from the same weights, and its gradients are compared with the style's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..styles import STYLES
from . import graph as graphs
from . import maths
from .gradcheck import BETWEEN, gradient_check
from .trace import Capture, Intermediate, as_array, capture


@dataclass
class Inspection:
    """One inspected step: its intermediates, its graph, its gradient check and its twin's gradients."""

    entries: list[Intermediate]
    graph: graphs.StepGraph | None
    twin: dict = field(default_factory=dict)  # see twin_gradients
    check: dict = field(default_factory=dict)  # see gradcheck.gradient_check
    note: str = ""  # where the step came from, when it is not the run's next (a diverged run's last finite one)
    # The step as a written backward pass reads it (the styles of ``written.BACKENDS``): kept in
    # the training process for ``written.check_text``, never sent
    values: dict | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "note": self.note,
            "t": self.graph.t if self.graph is not None else None,
            "entries": [asdict(e) for e in self.entries],
            "graph": self.graph.to_dict() if self.graph else None,
            "twin": self.twin,
            "check": self.check,
        }


def inspect_step(trainer) -> list[Intermediate]:
    """Take one step of ``trainer`` (exactly as ``trainer.step()``) and return its intermediates.

    Returns [] without stepping when the run has finished.
    """
    return inspect_backprop(trainer, twin=False).entries


#: The longest a diverged run is replayed to reach its last finite step, in seconds of its training.
REPLAY_S = 20.0


def inspect_run(trainer, seconds_per_step: float = 0.0) -> Inspection:
    """Look inside the next step of the run as it stands, never throwing it away:

    - a run that can step: its next step, as Step takes it;
    - a finished run: one step more (its length raised by one, a live change that replays);
    - a diverged run, whose weights are no longer finite: its last finite step, replayed from the
      start in a copy of the run (the run itself stays as it is), unless that replay would take
      longer than ``REPLAY_S`` at ``seconds_per_step``; then a note says why not.
    """
    from ..config import ConfigError
    from ..record import Status
    from ..trainer import Trainer

    if trainer.status == Status.DONE:
        try:
            trainer.change("steps", trainer.steps_done + 1)
        except ConfigError as error:  # at the most steps a run may take
            return Inspection([], None, note=f"The run cannot take a step more: {error}.")
    if trainer.status != Status.DIVERGED:
        return inspect_backprop(trainer)
    last = trainer.steps_done - 2  # the step before the one whose loss was not finite
    if last < 0:
        return Inspection([], None, note="The run diverged at its first step: no step of it was finite to look inside.")
    if last * seconds_per_step > REPLAY_S:
        return Inspection(
            [],
            None,
            note=f"The run diverged at step {last + 1:,}: reaching its last finite step again would take about "
            f"{last * seconds_per_step:.0f} s of replay. Lower the steps, or step it by hand before it diverges.",
        )
    copy = Trainer(trainer.start, trainer.changes, legacy_numbers=trainer.problem.legacy)
    copy.run(last)
    inspection = inspect_backprop(copy)
    inspection.note = (
        f"The run diverged at step {last + 1:,}: this is its last finite step, t = {last:,}, taken again "
        "from the start in a copy of the run, which stays as it ended."
    )
    return inspection


def inspect_backprop(trainer, twin: bool = True) -> Inspection:
    """Take one step of ``trainer`` (exactly as ``trainer.step()``): its intermediates, its graph
    and, with ``twin``, its gradients beside its twin style's from the same weights."""
    if trainer.finished:
        return Inspection([], None)
    found = capture(trainer)
    entries = list(found.entries)
    inside = _inside_model(found)
    if inside:  # after the line that called the model
        at = next((i for i, e in enumerate(entries) if e.name == "y_pred"), 0)
        entries[at:at] = inside
    graph = graphs.build(found)
    result = Inspection(entries, graph, check=_check(trainer, found, graph), values=written_values(trainer, found))
    if twin and STYLES[trainer.cfg.style].twin:
        result.twin = twin_gradients(trainer, found.start, graph)
    return result


def written_values(trainer, found: Capture) -> dict | None:
    """The inspected step's forward values and its weights before the update, as the style's own
    arrays (NumPy's, or torch's tensors on the CPU), for a learner's backward pass to run on."""
    from . import written

    if trainer.cfg.style not in written.BACKENDS:
        return None
    dtype = np.float32 if trainer.cfg.dtype == "float32" else np.float64
    arrays = {**{k: found.bound[k] for k in written.FORWARD}, **{k: found.start[k] for k in written.WEIGHTS}}
    values = {k: np.array(v, dtype=dtype) for k, v in arrays.items()}
    if written.BACKENDS[trainer.cfg.style] == "torch":
        values = {k: torch.from_numpy(v) for k, v in values.items()}
    return {**values, written.RATE: trainer.cfg.lr}


def _inside_model(found: Capture) -> list[Intermediate]:
    """What the model made out of the step's sight (nn.Linear's output h, the ReLU's h_relu)."""
    values, counts = [], {"h": 0, "h_relu": 0}
    step_lines = {line for line, _ in found.executed}
    linears = [made for made in found.operations if made.op == "linear"]
    for made in found.operations:
        kind = {"linear": "h", "relu": "h_relu", "clamp": "h_relu"}.get(made.op)
        if kind is None or (made.lines[0] in step_lines and kind == "h_relu" and made.op == "clamp"):
            continue
        if made.op == "linear" and made is linears[-1]:
            continue  # the output layer's result is y_pred, a local of the step already
        counts[kind] += 1
        name = kind if counts[kind] == 1 else f"{kind} (use {counts[kind] - 1} of the middle layer)"
        shape, sample, norm = graphs.summary(made.value)
        values.append(Intermediate(name, made.lines[0], made.code, shape, sample, norm))
    return values


def _check(trainer, found: Capture, graph: graphs.StepGraph | None) -> dict:
    """The gradient check of the step (``gradcheck.py``), each wrong gradient traced to what made it."""
    net, cfg = trainer.net, trainer.cfg
    grads = {name: as_array(g) for name, g in net.gradients().items()}
    made = {name: made_by(graph, name) for name in found.start}
    if found.hand_written:
        between = {name: found.bound[name] for name in BETWEEN if name in found.bound}
        made.update({name: _lines_of(graph, name) for name in between})
    else:
        between, senders = _received(found, graph)
        made.update(senders)
    layers = STYLES[cfg.style].layers
    seed = cfg.seed + trainer.steps_done
    x, y = as_array(net.x), as_array(net.y)
    return gradient_check(found.start, grads, x, y, layers, net.depth, cfg.dtype, seed, made, between)


def _lines_of(graph: graphs.StepGraph | None, name: str) -> str:
    """The lines that made a hand-written value: "lines 38, 39"."""
    node = graph.nodes.get(name) if graph is not None else None
    if node is None:
        return ""
    return f"line{'s' if len(node.lines) > 1 else ''} {', '.join(map(str, node.lines))}"


#: The values in between (``gradcheck.BETWEEN``), by the value whose gradient each is.
OF = {"grad_y_pred": "y_pred", "grad_h_relu": "h_relu", "grad_h": "h"}


def _received(found: Capture, graph: graphs.StepGraph | None) -> tuple[dict, dict]:
    """What autograd's nodes received as the gradients of y_pred, h_relu and h, and the node that
    sent each: the one that read the value in the forward pass, whose backward made it."""
    if graph is None:
        return {}, {}
    symbols = graphs.symbols(found)
    by_value = {maths.plain(symbols[fn]): fn for fn in found.nodes if fn in symbols}
    nodes = {node.value: node for node in graph.nodes.values() if node.value}
    between, senders = {}, {}
    for name, value in OF.items():
        fn = by_value.get(value)
        if fn is None or fn not in found.grads:
            continue
        between[name] = found.grads[fn]
        sender = next((p for p in found.nodes if any(c is fn for c, _ in p.next_functions)), None)
        node = nodes.get(maths.plain(symbols.get(sender, ""))) if sender is not None else None
        if node is not None:
            lines = ", ".join(map(str, node.back_lines))
            own = "its own backward" if hasattr(sender, "_forward_cls") else "loss.backward()"
            senders[name] = f"{node.label}, in {own} (line{'s' if len(node.back_lines) > 1 else ''} {lines})"
    return between, senders


def twin_gradients(trainer, start: dict[str, np.ndarray], graph: graphs.StepGraph | None) -> dict:
    """The step's gradients beside those of its twin style, taken from the same weights and data.

    Returns ``{"twin": style, "dtype": ..., "rows": [{"weight", "twin_weight", "made_by",
    "twin_made_by", "max_abs", "max_rel"}]}``: ``max_rel`` is the largest difference over the
    largest |gradient|, zero or rounding where the maths is the same.
    """
    from ..trainer import Trainer

    style = STYLES[trainer.cfg.style].twin
    cfg = trainer.cfg.replace(
        style=style, optimizer="sgd", mistake="none", backward="", steps=max(trainer.cfg.steps, 1)
    )
    other = Trainer(cfg, statistics=False, histograms=False)
    ours, theirs = list(trainer.net.parameters()), list(other.net.parameters().items())
    for name, (_, param) in zip(ours, theirs, strict=True):
        if isinstance(param, np.ndarray):
            param[...] = start[name]
        else:
            with torch.no_grad():
                param.copy_(torch.from_numpy(start[name]))
    other_graph = graphs.build(capture(other))
    mine, yours = trainer.net.gradients(), other.net.gradients()
    rows = []
    for name, (their_name, _) in zip(ours, theirs, strict=True):
        a, b = as_array(mine[name]).astype(np.float64), as_array(yours[their_name]).astype(np.float64)
        scale = float(np.abs(a).max()) or 1.0
        diff = float(np.abs(a - b).max())
        rows.append(
            {
                "weight": name,
                "twin_weight": their_name,
                "made_by": made_by(graph, name),
                "twin_made_by": made_by(other_graph, their_name),
                "max_abs": diff,
                "max_rel": diff / scale,
            }
        )
    return {"twin": style, "dtype": trainer.cfg.dtype, "rows": rows}


def made_by(graph: graphs.StepGraph | None, weight: str) -> str:
    """Which node of ``graph`` made ``weight``'s gradient."""
    if graph is None:
        return ""
    if graph.source == "traced code":
        node = graph.nodes.get(f"grad_{weight}")
        return f"{node.id} (line {node.lines[0]})" if node else ""
    readers = [e.target for e in graph.edges if e.source == weight]
    return ", ".join(graph.nodes[r].label for r in readers) + f" → AccumulateGrad ({weight})"
