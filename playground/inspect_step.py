"""Look inside one step: the intermediates of the maths, as the engine computed them.

    parts = inspect_step(trainer)          # takes one real step, like trainer.step()
    for part in parts:
        print(part.line, part.code, part.name, part.shape, part.sample, part.norm)

``inspect_step`` runs one ordinary ``trainer.step()`` (history, statistics and
status are recorded as usual) while ``sys.settrace`` watches the style's
``step`` method, and only that frame. After every executed line it notes

* each local that the line bound to a *new* array, tensor or float (``h``,
  ``y_pred``, ``loss``, ``grad_w1``, ...); aliases of existing objects (``x``,
  ``w1``, ``model``, the loop variable over ``model.parameters()``) are skipped.
  A recorded array that a later line changes in place (``grad_h[h < 0] = 0``)
  keeps its place in the list but shows its final values and the line that
  changed it last;
* each weight the line changed, as ``update of <name>``: the change over the
  whole step (after minus before), on the last line that changed it;
* in the styles that call ``loss.backward()``, the gradients autograd computed
  out of sight, as ``grad of <name>``, on the ``backward()`` line.

So the numbers the panel shows are the engine's own numbers for that step.

``inspect_backprop`` takes the same step and also returns its graph (``graph.py``): for the
hand-written styles from the lines the step ran; for the others from the graph autograd built,
with the forward operations recorded as they ran (a ``TorchFunctionMode``) and the backward
nodes as autograd ran them (a hook on each node). For the styles that call an ``nn.Module``, the
values made inside the model (``h``, ``h_relu``) join the intermediates too. It also runs the
same step in the style's twin (``TWINS``: the previous cell that computes the same maths) from
the same weights and compares the gradients.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import sys
import textwrap
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from . import graph as graphs
from .config import NUMPY_STYLES

SAMPLE = graphs.SAMPLE  # values shown per intermediate


@dataclass(frozen=True)
class Intermediate:
    name: str  # the local's name, "update of w1" or "grad of w1"
    line: int  # line number in the style's source file
    code: str  # that line, stripped
    shape: tuple[int, ...]  # () for a scalar
    sample: tuple[float, ...]  # the first up to SAMPLE values
    norm: float  # L2 norm of all values


def _as_array(value) -> np.ndarray | None:
    """A NumPy view of an array, tensor or float; None for anything else."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.is_sparse or value.device.type == "meta":
            return None
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in "biuf" else None
    if isinstance(value, float | np.floating):
        return np.asarray(value)
    return None


def _describe(name: str, line: int, code: str, array: np.ndarray) -> Intermediate:
    shape, sample, norm = graphs.summary(array)
    return Intermediate(name=name, line=line, code=code, shape=shape, sample=sample, norm=norm)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _inputs(net) -> list:
    """Objects that exist before the step: the style's data, weights and modules' parameters."""
    found = [net]
    for value in vars(net).values():
        found.append(value)
        if isinstance(value, dict):
            found.extend(value.values())
        if isinstance(value, torch.nn.Module):
            found.extend(value.parameters())
            found.extend(value.buffers())
    return found


def _backward_lines(code) -> set[int]:
    """Line numbers of the step's code that call ``backward()`` (comments excluded)."""
    lines = set()
    for lineno in range(code.co_firstlineno, code.co_firstlineno + 1000):
        text = linecache.getline(code.co_filename, lineno)
        if not text:
            break
        if "backward(" in text.split("#", 1)[0]:
            lines.add(lineno)
    return lines


class _Tracer:
    def __init__(self, net):
        self.net = net
        self.code = type(net).step.__code__
        self.backward_lines = _backward_lines(self.code)
        # Views (on the CPU) that see the in-place updates, and their values before the step.
        self.params = dict(net.parameters())
        self.start = {name: np.array(_as_array(p), copy=True) for name, p in self.params.items()}
        self.latest = {name: a.copy() for name, a in self.start.items()}
        self.known = {id(o): o for o in _inputs(net)}  # objects kept alive, so ids stay unique
        self.entries: list[Intermediate] = []
        self.watched: dict[str, tuple[int, object, np.ndarray]] = {}  # recorded arrays, by local
        self.updates: dict[str, int] = {}  # weight name -> index of its "update of" entry
        self.locals: dict | None = None
        self.line: int | None = None
        self.frame = None
        self.executed: list[tuple[int, str]] = []  # (line, code) in the order they ran
        self.bound: dict[str, np.ndarray] = {}  # each local's latest array: the graph's values
        self.loss = None  # the tensor backward() was called on (autograd styles)
        self.fired: list = []  # autograd nodes, in the order their backward ran
        self.grads: dict = {}  # autograd node -> the gradient it received
        self.hooks: list = []

    def __call__(self, frame, event, arg):
        """The global trace function: trace the style's step (its first call) and nothing else."""
        if event == "call" and self.frame is None and frame.f_code is self.code:
            self.frame = frame
            return self.local
        return None

    def local(self, frame, event, arg):
        if event in ("line", "return"):
            if self.locals is None:  # the first line: what exists now is input
                self.locals = dict(frame.f_locals)
                self.known.update((id(v), v) for v in self.locals.values())
            elif self.line is not None:
                self.after(frame, self.line)
            self.line = frame.f_lineno if event == "line" else None
            if event == "line" and self.line in self.backward_lines:
                self.watch_backward(frame)
        return self.local

    def watch_backward(self, frame) -> None:
        """Before ``loss.backward()`` runs: hook every node of the graph it will walk."""
        losses = [v for v in frame.f_locals.values() if isinstance(v, torch.Tensor) and v.grad_fn and v.numel() == 1]
        if not losses or self.loss is not None:
            return
        self.loss = losses[0]
        stack, seen = [self.loss.grad_fn], set()
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen:
                continue
            seen.add(fn)
            self.hooks.append(fn.register_hook(self._fired(fn)))
            stack.extend(child for child, _ in fn.next_functions)

    def _fired(self, fn):
        def hook(grad_inputs, grad_outputs):
            self.fired.append(fn)
            received = next((g for g in (*grad_outputs, *grad_inputs) if g is not None), None)
            if received is not None:
                self.grads[fn] = received.detach().cpu().numpy().copy()

        return hook

    def after(self, frame, lineno: int) -> None:
        """Record what line ``lineno``, just executed, made."""
        code = linecache.getline(self.code.co_filename, lineno).strip()
        current = dict(frame.f_locals)
        self.executed.append((lineno, code))
        for name, value in current.items():
            array = _as_array(value)
            if array is None:
                continue
            if name not in self.bound or self.locals.get(name, self) is not value or not _same(array, self.bound[name]):
                self.bound[name] = array.copy()  # bound now, or changed in place (grad_h[h < 0] = 0)
        made = set()
        for name, value in current.items():
            if self.locals.get(name, self) is value or id(value) in self.known:
                continue
            array = _as_array(value)
            if array is None:
                continue
            made.add(name)
            self.watched[name] = (len(self.entries), value, array.copy())
            self.entries.append(_describe(name, lineno, code, array))
        self.known.update((id(v), v) for v in current.values())
        self.locals = current

        for name, (index, value, before) in list(self.watched.items()):
            if name in made:
                continue
            array = _as_array(value)
            if not _same(array, before):
                self.watched[name] = (index, value, array.copy())
                self.entries[index] = _describe(name, lineno, code, array)

        for name, param in self.params.items():
            now = _as_array(param)
            if _same(now, self.latest[name]):
                continue
            self.latest[name] = np.array(now, copy=True)
            with np.errstate(over="ignore", invalid="ignore"):
                delta = self.latest[name] - self.start[name]
            entry = _describe(f"update of {name}", lineno, code, delta)
            if name in self.updates:
                self.entries[self.updates[name]] = entry
            else:
                self.updates[name] = len(self.entries)
                self.entries.append(entry)

        if lineno in self.backward_lines:
            for name, grad in self.net.gradients().items():
                array = _as_array(grad)
                if array is not None:
                    self.entries.append(_describe(f"grad of {name}", lineno, code, array))


def inspect_step(trainer) -> list[Intermediate]:
    """Take one step of ``trainer`` (exactly as ``trainer.step()``) and return its intermediates.

    Returns [] without stepping when the run has finished. The trace function in
    place before the call is restored afterwards, also when the step raises.
    """
    return inspect_backprop(trainer, twin=False).entries


class _Recorder(TorchFunctionMode):
    """Every torch operation of the step, with the line of the style's file that ran it."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename
        self.made: dict = {}  # autograd node -> graph.Made
        self.inside: list[tuple[object, graphs.Made]] = []  # (code object, Made) of operations without a node
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not isinstance(out, torch.Tensor) or out.is_sparse:
            return out
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != self.filename:
            frame = frame.f_back
        if frame is None:
            return out
        self.count += 1
        inputs = [id(a) for a in (*args, *(kwargs or {}).values()) if isinstance(a, torch.Tensor)]
        code = linecache.getline(self.filename, frame.f_lineno).strip()
        name = getattr(func, "__name__", str(func))
        if out.grad_fn is not None:
            value = out.detach().cpu().numpy().copy()
            self.made[out.grad_fn] = graphs.Made(name, self.count, (frame.f_lineno,), code, value, inputs)
        elif frame.f_code.co_name == "forward" and "ctx" in frame.f_locals:  # a custom Function's forward
            value = out.detach().cpu().numpy().copy()
            self.inside.append((frame.f_code, graphs.Made(name, self.count, (frame.f_lineno,), code, value, inputs)))
        return out


@dataclass
class Inspection:
    """One inspected step: its intermediates, its graph, and its twin's gradients beside its own."""

    entries: list[Intermediate]
    graph: graphs.StepGraph | None
    twin: dict = field(default_factory=dict)  # see twin_gradients
    check: dict = field(default_factory=dict)  # the gradient check (gradcheck.gradient_check)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {
            "entries": [asdict(e) for e in self.entries],
            "graph": self.graph.to_dict() if self.graph else None,
            "twin": self.twin,
            "check": self.check,
        }


#: Each style's twin: the cell before or after it that computes the same gradient by other means.
TWINS = {
    "numpy": "autograd",
    "tensor": "autograd",
    "autograd": "function",
    "function": "autograd",
    "nn": "module",
    "optim": "module",
    "module": "nn",
}


def _names(net) -> tuple[dict[int, str], dict[str, np.ndarray]]:
    """The style's tensors by id: its data (x, y) and each weight, by the name ``parameters()`` gives it."""
    names: dict[int, str] = {}
    for attr, value in vars(net).items():
        if attr in ("x", "y") and isinstance(value, torch.Tensor):
            names[id(value)] = attr
        elif isinstance(value, dict):
            names.update((id(v), k) for k, v in value.items() if isinstance(v, torch.Tensor))
        elif isinstance(value, torch.nn.Module):
            names.update((id(p), n) for n, p in value.named_parameters())
    return names


def _capture(trainer) -> tuple[_Tracer, _Recorder | None]:
    """Take one step of ``trainer``, traced; with torch styles, record its operations too."""
    tracer = _Tracer(trainer.net)
    filename = tracer.code.co_filename
    recorder = None if trainer.cfg.style in NUMPY_STYLES else _Recorder(filename)
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        if recorder is not None:
            with recorder:
                trainer.step()
        else:
            trainer.step()
    finally:
        sys.settrace(previous)
        tracer.frame = None
        for hook in tracer.hooks:
            hook.remove()
    return tracer, recorder


def _graph(trainer, tracer: _Tracer, recorder: _Recorder | None) -> graphs.StepGraph | None:
    style, t, net = trainer.cfg.style, trainer.steps_done - 1, trainer.net
    if recorder is None or tracer.loss is None:  # backprop by hand: the traced lines
        values = {**tracer.bound}
        values.update({name: tracer.start[name] for name in tracer.start if name in values})
        if not tracer.executed:
            return None
        return graphs.from_trace(style, t, tracer.executed, values, set(tracer.params))
    names = _names(net)
    values = {name: tracer.start[name] for name in tracer.start}
    for attr in ("x", "y"):
        values[attr] = _as_array(getattr(net, attr))
    made = dict(recorder.made)
    for cls in {getattr(fn, "_forward_cls", None) for fn in tracer.fired} - {None}:  # custom Functions
        inside = [m for code, m in recorder.inside if code is cls.forward.__code__]
        if inside:
            made[cls] = inside[-1]
        lines, first = inspect.getsourcelines(cls.backward)  # from its decorator on
        function = ast.parse(textwrap.dedent("".join(lines))).body[0]
        body = tuple(range(first + function.body[0].lineno - 1, first + len(lines)))
        masks = any(
            isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) for node in ast.walk(function)
        )
        made[(cls, "backward")] = graphs.Made("masked" if masks else "unmasked", 0, body, lines[-1].strip(), None)
    backward_lines = tuple(sorted(tracer.backward_lines))
    return graphs.from_autograd(
        style, t, net.depth, tracer.loss, made, tracer.fired, tracer.grads, names, values, backward_lines
    )


def _inside_model(tracer: _Tracer, recorder: _Recorder | None) -> list[Intermediate]:
    """What the model made out of the step's sight (nn.Linear's output h, the ReLU's h_relu)."""
    if recorder is None:
        return []
    found, counts = [], {"h": 0, "h_relu": 0}
    step_lines = {line for line, _ in tracer.executed}
    for fn, made in sorted(recorder.made.items(), key=lambda item: item[1].rank):
        kind = {"linear": "h", "relu": "h_relu", "clamp": "h_relu"}.get(made.op)
        if kind is None or (made.lines[0] in step_lines and kind == "h_relu" and made.op == "clamp"):
            continue
        if made.op == "linear" and fn is _last_linear(recorder):
            continue  # the output layer's result is y_pred, a local of the step already
        counts[kind] += 1
        name = kind if counts[kind] == 1 else f"{kind} (use {counts[kind] - 1} of the middle layer)"
        found.append(_describe(name, made.lines[0], made.code, np.asarray(made.value)))
    return found


def _last_linear(recorder: _Recorder):
    linears = [(m.rank, fn) for fn, m in recorder.made.items() if m.op == "linear"]
    return max(linears, key=lambda item: item[0])[1] if linears else None


def inspect_backprop(trainer, twin: bool = True) -> Inspection:
    """Take one step of ``trainer`` (exactly as ``trainer.step()``): its intermediates, its graph
    and, with ``twin``, its gradients beside its twin style's from the same weights."""
    if trainer.finished:
        return Inspection([], None)
    tracer, recorder = _capture(trainer)
    entries = list(tracer.entries)
    inside = _inside_model(tracer, recorder)
    if inside:  # after the line that called the model
        at = next((i for i, e in enumerate(entries) if e.name == "y_pred"), 0)
        entries[at:at] = inside
    graph = _graph(trainer, tracer, recorder)
    result = Inspection(entries, graph, check=_check(trainer, tracer, graph))
    if twin and trainer.cfg.style in TWINS:
        result.twin = twin_gradients(trainer, tracer.start, graph)
    return result


def _check(trainer, tracer: _Tracer, graph: graphs.StepGraph | None) -> dict:
    """The gradient check of the step (``gradcheck.py``), each wrong gradient traced to its node."""
    from .gradcheck import BETWEEN, gradient_check

    net = trainer.net
    x, y = _as_array(net.x), _as_array(net.y)
    grads = {name: _as_array(g) for name, g in net.gradients().items()}
    made = {name: made_by(graph, name) for name in tracer.start}
    hand_written = graph is not None and graph.source == "traced code"
    between = {name: tracer.bound[name] for name in BETWEEN if hand_written and name in tracer.bound}
    cfg = trainer.cfg
    seed = cfg.seed + trainer.steps_done
    return gradient_check(tracer.start, grads, x, y, net.depth, cfg.dtype, seed, made, between)


def twin_gradients(trainer, start: dict[str, np.ndarray], graph: graphs.StepGraph | None) -> dict:
    """The step's gradients beside those of its twin style, taken from the same weights and data.

    Returns ``{"twin": style, "dtype": ..., "rows": [{"weight", "twin_weight", "made_by",
    "twin_made_by", "max_abs", "max_rel"}]}``: ``max_rel`` is the largest difference over the
    largest |gradient|, zero or rounding where the maths is the same.
    """
    from .trainer import Trainer

    style = TWINS[trainer.cfg.style]
    cfg = trainer.cfg.replace(style=style, optimizer="sgd", mistake="none", steps=max(trainer.cfg.steps, 1))
    other = Trainer(cfg, statistics=False, histograms=False)
    ours, theirs = list(trainer.net.parameters()), list(other.net.parameters().items())
    for name, (_, param) in zip(ours, theirs, strict=True):
        if isinstance(param, np.ndarray):
            param[...] = start[name]
        else:
            with torch.no_grad():
                param.copy_(torch.from_numpy(start[name]))
    other_tracer, other_recorder = _capture(other)
    other_graph = _graph(other, other_tracer, other_recorder)
    mine, yours = trainer.net.gradients(), other.net.gradients()
    rows = []
    for name, (their_name, _) in zip(ours, theirs, strict=True):
        a, b = _as_array(mine[name]).astype(np.float64), _as_array(yours[their_name]).astype(np.float64)
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


__all__ = ["Inspection", "Intermediate", "TWINS", "inspect_backprop", "inspect_step", "SAMPLE"]
