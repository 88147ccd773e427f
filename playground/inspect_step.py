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
"""

from __future__ import annotations

import linecache
import sys
from dataclasses import dataclass

import numpy as np
import torch

SAMPLE = 4  # values shown per intermediate


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
    flat = array.ravel()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging step overflows
        norm = float(np.linalg.norm(flat.astype(np.float64))) if flat.size else 0.0
    return Intermediate(
        name=name,
        line=line,
        code=code,
        shape=tuple(array.shape),
        sample=tuple(float(v) for v in flat[:SAMPLE]),
        norm=norm,
    )


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
        return self.local

    def after(self, frame, lineno: int) -> None:
        """Record what line ``lineno``, just executed, made."""
        code = linecache.getline(self.code.co_filename, lineno).strip()
        current = dict(frame.f_locals)
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
    if trainer.finished:
        return []
    tracer = _Tracer(trainer.net)
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        trainer.step()
    finally:
        sys.settrace(previous)
        tracer.frame = None
    return tracer.entries


__all__ = ["Intermediate", "inspect_step", "SAMPLE"]
