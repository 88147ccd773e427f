"""One real step, watched as it runs: what each line made, and what autograd did behind it.

    found = capture(trainer)      # takes one step, exactly as trainer.step()
    found.entries                 # every value the step made, in order (``Intermediate``)
    found.executed                # (line, code) of each line of the style's step, in the order they ran

``capture`` runs one ordinary ``trainer.step()`` (history, statistics and status are recorded
as usual) while ``sys.settrace`` watches the style's ``step`` method, and only that frame. After
every executed line it notes

* each local that the line bound to a *new* array, tensor or float (``h``, ``y_pred``, ``loss``,
  ``grad_w1``, ...); aliases of existing objects (``x``, ``w1``, ``model``) are skipped. A value
  that a later line changes in place (``grad_h[h < 0] = 0``) keeps its place in the list but shows
  its final values and the line that changed it last;
* each weight the line changed, as ``update of <name>``: the change over the whole step (after
  minus before), on the last line that changed it;
* in the styles that call ``loss.backward()``, the gradients autograd computed out of sight, as
  ``grad of <name>``, on the ``backward()`` line.

For the torch styles it also records every torch operation with the line of the style's file
that ran it (a ``TorchFunctionMode``), and hooks every node of the graph behind
``loss.backward()`` before it runs, so the ``Capture`` knows the order the nodes ran backward and
the gradient each received. A custom ``torch.autograd.Function`` brings its forward's operation
and its own backward's lines.
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

from ..config import NUMPY_STYLES
from .graph import summary


@dataclass(frozen=True)
class Intermediate:
    name: str  # the local's name, "update of w1" or "grad of w1"
    line: int  # line number in the style's source file
    code: str  # that line, stripped
    shape: tuple[int, ...]  # () for a scalar
    sample: tuple[float, ...]  # the first few values (graph.SAMPLE)
    norm: float  # L2 norm of all values


@dataclass
class Made:
    """What a forward operation made, recorded as it ran."""

    op: str
    rank: int  # its place among the step's operations
    lines: tuple[int, ...]  # the lines of the style's file that ran it
    code: str
    value: object  # a NumPy copy of its output
    inputs: list[int] = field(default_factory=list)  # ids of its tensor arguments


@dataclass
class Capture:
    """What one traced step left: the lines it ran and what they made, and for the torch styles the
    operations it ran and the graph autograd walked back."""

    style: str
    t: int  # the step's index, from 0, as the tutorial's loop counts
    depth: int | None  # DynamicNet: the depth the step drew
    executed: list[tuple[int, str]]  # (line, code) in the order they ran
    bound: dict[str, np.ndarray]  # each local's latest array
    start: dict[str, np.ndarray]  # each weight before the step, by the name parameters() gives it
    entries: list[Intermediate]
    backward_lines: tuple[int, ...]  # the lines that call backward()
    loss: object = None  # the tensor backward() was called on (the autograd styles)
    nodes: list = field(default_factory=list)  # the autograd nodes behind it (autograd_nodes)
    fired: list = field(default_factory=list)  # the nodes, in the order their backward ran
    grads: dict = field(default_factory=dict)  # node -> the gradient it received
    made: dict = field(default_factory=dict)  # node, or (custom Function, "backward") -> Made
    operations: list[Made] = field(default_factory=list)  # the torch operations that made a node, in order
    names: dict[int, str] = field(default_factory=dict)  # tensor id -> the style's name (x, y, weights)
    values: dict[str, np.ndarray] = field(default_factory=dict)  # x, y and the weights as the step found them

    @property
    def hand_written(self) -> bool:
        """Whether the step wrote its backward pass by hand (no ``loss.backward()`` ran)."""
        return self.loss is None


def as_array(value) -> np.ndarray | None:
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


def autograd_nodes(loss) -> list:
    """Every node of the graph behind ``loss``, once each, from the loss down (depth first, each
    node's inputs in the order autograd lists them)."""
    order, stack, seen = [], [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        stack.extend(child for child, _ in reversed(fn.next_functions) if child is not None)
    return order


def _describe(name: str, line: int, code: str, array: np.ndarray) -> Intermediate:
    shape, sample, norm = summary(array)
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


def _backward_lines(code) -> tuple[int, ...]:
    """Line numbers of the step's code that call ``backward()`` (comments excluded)."""
    lines = []
    for lineno in range(code.co_firstlineno, code.co_firstlineno + 1000):
        text = linecache.getline(code.co_filename, lineno)
        if not text:
            break
        if "backward(" in text.split("#", 1)[0]:
            lines.append(lineno)
    return tuple(lines)


def _names(net) -> dict[int, str]:
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


class _Tracer:
    """The trace function: follows the style's ``step`` frame, line by line."""

    def __init__(self, net):
        self.net = net
        self.code = type(net).step.__code__
        self.backward_lines = _backward_lines(self.code)
        # Views (on the CPU) that see the in-place updates, and their values before the step.
        self.params = dict(net.parameters())
        self.start = {name: np.array(as_array(p), copy=True) for name, p in self.params.items()}
        self.latest = {name: a.copy() for name, a in self.start.items()}
        self.known = {id(o): o for o in _inputs(net)}  # objects kept alive, so ids stay unique
        self.entries: list[Intermediate] = []
        self.watched: dict[str, tuple[int, object, np.ndarray]] = {}  # recorded arrays, by local
        self.updates: dict[str, int] = {}  # weight name -> index of its "update of" entry
        self.locals: dict | None = None
        self.line: int | None = None
        self.frame = None
        self.executed: list[tuple[int, str]] = []
        self.bound: dict[str, np.ndarray] = {}
        self.loss = None
        self.nodes: list = []
        self.fired: list = []
        self.grads: dict = {}
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
        self.nodes = autograd_nodes(self.loss)
        self.hooks = [fn.register_hook(self._fired(fn)) for fn in self.nodes]

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
        self._bind(current)
        made = self._made(current, lineno, code)
        self._changed(made, lineno, code)
        self._updated(lineno, code)
        if lineno in self.backward_lines:
            for name, grad in self.net.gradients().items():
                array = as_array(grad)
                if array is not None:
                    self.entries.append(_describe(f"grad of {name}", lineno, code, array))

    def _bind(self, current: dict) -> None:
        """Each local's latest array: bound now, or changed in place (``grad_h[h < 0] = 0``)."""
        for name, value in current.items():
            array = as_array(value)
            if array is None:
                continue
            if name not in self.bound or self.locals.get(name, self) is not value or not _same(array, self.bound[name]):
                self.bound[name] = array.copy()

    def _made(self, current: dict, lineno: int, code: str) -> set[str]:
        """The locals the line bound to new objects, each a new entry."""
        made = set()
        for name, value in current.items():
            if self.locals.get(name, self) is value or id(value) in self.known:
                continue
            array = as_array(value)
            if array is None:
                continue
            made.add(name)
            self.watched[name] = (len(self.entries), value, array.copy())
            self.entries.append(_describe(name, lineno, code, array))
        self.known.update((id(v), v) for v in current.values())
        self.locals = current
        return made

    def _changed(self, made: set[str], lineno: int, code: str) -> None:
        """Entries whose value the line changed in place: their final values, and this line."""
        for name, (index, value, before) in list(self.watched.items()):
            if name in made:
                continue
            array = as_array(value)
            if not _same(array, before):
                self.watched[name] = (index, value, array.copy())
                self.entries[index] = _describe(name, lineno, code, array)

    def _updated(self, lineno: int, code: str) -> None:
        """Weights the line changed: ``update of <name>``, the change since the step began."""
        for name, param in self.params.items():
            now = as_array(param)
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


class _Recorder(TorchFunctionMode):
    """Every torch operation of the step, with the line of the style's file that ran it."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename
        self.made: dict = {}  # autograd node -> Made
        self.inside: list[tuple[object, Made]] = []  # (code object, Made) of operations without a node
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
            self.made[out.grad_fn] = Made(name, self.count, (frame.f_lineno,), code, value, inputs)
        elif frame.f_code.co_name == "forward" and "ctx" in frame.f_locals:  # a custom Function's forward
            value = out.detach().cpu().numpy().copy()
            self.inside.append((frame.f_code, Made(name, self.count, (frame.f_lineno,), code, value, inputs)))
        return out


def _custom_functions(tracer: _Tracer, recorder: _Recorder) -> dict:
    """For each custom ``autograd.Function`` the step used: its forward's operation (under the
    class) and its own backward's lines (under ``(class, "backward")``; op "masked" or "unmasked",
    whether it writes a mask)."""
    made = {}
    for cls in {getattr(fn, "_forward_cls", None) for fn in tracer.fired} - {None}:
        inside = [m for code, m in recorder.inside if code is cls.forward.__code__]
        if inside:
            made[cls] = inside[-1]
        lines, first = inspect.getsourcelines(cls.backward)  # from its decorator on
        function = ast.parse(textwrap.dedent("".join(lines))).body[0]
        body = tuple(range(first + function.body[0].lineno - 1, first + len(lines)))
        masks = any(
            isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript) for node in ast.walk(function)
        )
        made[(cls, "backward")] = Made("masked" if masks else "unmasked", 0, body, lines[-1].strip(), None)
    return made


def capture(trainer) -> Capture:
    """Take one step of ``trainer`` (exactly as ``trainer.step()``), traced; with the torch styles,
    its operations recorded and its autograd graph hooked. The trace function in place before the
    call is restored afterwards, also when the step raises."""
    net = trainer.net
    tracer = _Tracer(net)
    recorder = None if trainer.cfg.style in NUMPY_STYLES else _Recorder(tracer.code.co_filename)
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
    found = Capture(
        trainer.cfg.style,
        trainer.steps_done - 1,
        net.depth,
        tracer.executed,
        tracer.bound,
        tracer.start,
        tracer.entries,
        tracer.backward_lines,
    )
    if recorder is not None and tracer.loss is not None:
        found.loss, found.nodes, found.fired, found.grads = tracer.loss, tracer.nodes, tracer.fired, tracer.grads
        found.made = {**recorder.made, **_custom_functions(tracer, recorder)}
        found.names = _names(net)
        found.values = {**tracer.start, "x": as_array(net.x), "y": as_array(net.y)}
    if recorder is not None:
        found.operations = sorted(recorder.made.values(), key=lambda made: made.rank)
    return found
