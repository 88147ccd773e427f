"""Gradient statistics and histograms, cheap enough to take at every step.

Everything here works on NumPy views of the tensors (no copy on the CPU), where
one call costs microseconds, not the tens that a small torch op costs, and a NumPy
run never imports torch.

Histograms count |grad| per power of two. A gradient shrinks by orders of
magnitude as the loss falls, so bins of equal width fixed at the first step
would soon hold everything in the middle bin; octaves stay readable for the
whole run. The octave of a float is its exponent bits, so a histogram is a
shift, a mask and a ``bincount``: no logarithm, no search. Exact zeros (the
gradient of a dead ReLU unit is exactly zero) are counted apart.
"""

from __future__ import annotations

import math

import numpy as np

from .record import activation_series, counts, dead, series, statistic, zeros


def as_numpy(value) -> np.ndarray | None:
    """A NumPy view of a tensor on the CPU (a copy from a GPU); None stays None."""
    if value is None or isinstance(value, np.ndarray):
        return value
    value = value.detach()
    if value.device.type != "cpu":
        value = value.cpu()
    return value.numpy()


def _norm(a: np.ndarray) -> float:
    flat = a.ravel()
    return math.sqrt(float(flat.dot(flat)))


class GradientStats:
    """Per-step statistics of one style's weights and gradients."""

    def __init__(self, style):
        self.relu_layers = list(style.relu_layers)
        params = style.parameters()
        self.before = {name: as_numpy(w).copy() for name, w in params.items()}
        # Scratch space, reused: a fresh 400 kB array per call costs page faults.
        self.scratch = {name: np.empty_like(w) for name, w in self.before.items()}
        # Ones to sum |grad| with BLAS: per ReLU layer's weight, its units' axis and ones as long as
        # the other axis (a sum per unit); for every other tensor, ones as long as the whole of it.
        self.units = {
            layer.weight: (layer.label, layer.unit_axis, np.ones(w.shape[1 - layer.unit_axis], dtype=w.dtype))
            for layer in self.relu_layers
            for w in [self.before[layer.weight]]
        }
        self.ones = {name: np.ones(w.size, dtype=w.dtype) for name, w in self.before.items() if name not in self.units}
        # Weights are updated in place, so on the CPU one NumPy view of each lasts the
        # whole run (making a view every time costs as much as reading the numbers).
        self.on_cpu = all(isinstance(w, np.ndarray) or w.device.type == "cpu" for w in params.values())
        self.views = None
        # Each tensor's columns, named once: in a run every call is cold (see Histograms._count).
        self.columns = {
            name: tuple(statistic(name, s) for s in ("grad_norm", "grad_mean", "grad_max", "update_ratio"))
            for name in self.before
        }

    def __getstate__(self) -> dict:
        # A view of a tensor would unpickle as a copy that no longer sees the updates: make it anew.
        return {**self.__dict__, "views": None}

    def _weights(self, style) -> dict[str, np.ndarray]:
        if self.views is not None:
            return self.views
        weights = {name: as_numpy(w) for name, w in style.parameters().items()}
        if self.on_cpu:
            self.views = weights
        return weights

    def remember_weights(self, style) -> None:
        """Call before a step whose update ratio you want."""
        for name, w in self._weights(style).items():
            np.copyto(self.before[name], w)

    def measure(self, style) -> dict[str, float]:
        """Statistics of the step just taken: per weight tensor the gradient's L2 norm,
        mean and max of |grad|, and ||dW|| / ||W||; per hidden layer the fraction of
        dead units (no gradient reached them: their ReLU was off for every example).
        """
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows
            return self._measure(style)

    def _measure(self, style) -> dict[str, float]:
        row: dict[str, float] = {}
        units = self.units
        grads = style.gradients()
        for name, w in self._weights(style).items():
            g, scratch = as_numpy(grads[name]), self.scratch[name]
            norm, mean, top, ratio = self.columns[name]
            if g is None:  # not used this step (DynamicNet at depth 0)
                row[norm] = row[mean] = row[top] = 0.0
                if name in units:
                    row[dead(units[name][0])] = math.nan
            else:
                magnitude = np.abs(g, out=scratch)
                row[norm] = _norm(g)
                row[top] = float(magnitude.max())
                # Sums of |g| as products with ones: BLAS, faster than .mean() or .max(axis).
                if name in units:
                    # A unit is dead when no gradient reached any of its weights: their |g| sum to 0.
                    label, axis, ones = units[name]
                    per_unit = ones @ magnitude if axis == 1 else magnitude @ ones
                    row[dead(label)] = float(per_unit.size - np.count_nonzero(per_unit)) / per_unit.size
                    row[mean] = float(per_unit.sum()) / g.size
                else:
                    row[mean] = float(magnitude.ravel().dot(self.ones[name])) / g.size
            w_norm = _norm(w)
            change = np.subtract(w, self.before[name], out=scratch)
            row[ratio] = _norm(change) / w_norm if w_norm else math.nan
        return row


class Histograms:
    """Octave histograms of |grad| per weight tensor, with bins fixed at the first call.

    ``before_step`` and ``after_step`` count the other kinds (``record.HISTOGRAM_KINDS``) the
    same way: the weights the step uses and the hidden layer's activations for the batch, before
    the step; the update it made, after. Each is a pass as costly as the gradients' (the
    activations also run the batch through the first layer), so a run records only those asked for.
    """

    def __init__(self, bins: int):
        self.bins = bins
        self.low: dict[str, int] = {}  # per tensor: exponent of the lowest edge
        self._index: dict[str, np.ndarray] = {}
        self._scratch: dict[str, tuple] = {}  # per series: its keys, and a tensor over them, reused (see GradientStats)
        self._before: dict[str, np.ndarray] = {}  # the weights before the step, for its update

    def __getstate__(self) -> dict:
        # A tensor over a scratch array would unpickle as a copy of it: make the scratch anew.
        return {**self.__dict__, "_scratch": {}}

    def edges(self, name: str) -> np.ndarray:
        """Bin edges of ``name``: 2**low, 2**(low+1), ..., 2**(low+bins)."""
        return np.exp2(np.arange(self.low[name], self.low[name] + self.bins + 1, dtype=np.float64))

    def measure(self, style) -> dict[str, np.ndarray]:
        row = {}
        for name, g in style.gradients().items():
            g = as_numpy(g)
            if g is None:
                continue
            row[counts(name)], row[zeros(name)] = self._count(name, g)
        return row

    def before_step(self, style, kinds) -> dict[str, np.ndarray]:
        """Before a step: the histograms of the weights it will use and of the hidden layer's
        activations for the batch, if ``kinds`` asks for them (``Trainer.set_histogram_kinds`` checked
        them); keeps the weights for ``after_step``."""
        row: dict[str, np.ndarray] = {}
        if "weights" in kinds or "updates" in kinds:
            for name, w in style.parameters().items():
                w = as_numpy(w)
                if "weights" in kinds:
                    self._add(row, series("weights", name), w)
                if "updates" in kinds:
                    kept = self._before.get(name)
                    if kept is None or kept.shape != w.shape or kept.dtype != w.dtype:
                        kept = self._before[name] = np.empty_like(w)
                    np.copyto(kept, w)
        if "activations" in kinds:
            before = as_numpy(style.hidden_input())
            names = activation_series(style.relu_layers[0].label)
            self._add(row, series("activations", names[0]), before)
            self._add(row, series("activations", names[1]), np.maximum(before, 0))
        return row

    def after_step(self, style, kinds) -> dict[str, np.ndarray]:
        """After a step: the histogram of the update it made to each weight, if ``kinds`` asks for it."""
        row: dict[str, np.ndarray] = {}
        if "updates" in kinds:
            with np.errstate(over="ignore", invalid="ignore"):
                for name, w in style.parameters().items():
                    self._add(row, series("updates", name), np.subtract(as_numpy(w), self._before[name]))
        return row

    def _add(self, row: dict, key: str, values: np.ndarray) -> None:
        row[counts(key)], row[zeros(key)] = self._count(key, values)

    def _count(self, name: str, g: np.ndarray) -> tuple[np.ndarray, int]:
        # The count is most of the cost, and in a run the data are cold (the training steps between
        # two recordings pushed them out of the cache). So one pass makes the keys straight from the
        # bits of g: float32's 9 bits above its mantissa (sign, then exponent), cut to 8 bits, is the
        # exponent; float64's 12 (counted in 4096 bins, the sign's half added onto the other) fit an
        # int16. tests/test_stats.py checks the counts with frexp.
        # size: the exponent's values; total: the keys' (float64's sign doubles them)
        if g.dtype == np.float32:
            bits, shift, bias, size, total, key = g.view(np.uint32), 23, 127, 256, 256, np.uint8
        else:
            bits, shift, bias, size, total, key = g.view(np.uint64), 52, 1023, 2048, 4096, np.int16
        keys = self._scratch.get(name)
        if keys is None or keys.shape != g.shape or keys.dtype != key:
            keys = self._scratch[name] = np.empty(g.shape, dtype=key)
        # uint32 -> uint8 wraps: the sign bit (the 9th) falls off
        np.right_shift(bits, shift, out=keys, casting="unsafe")
        raw = np.bincount(keys.ravel(), minlength=total)
        if total > size:
            raw = raw[:size] + raw[size:]  # +|g| and -|g| alike
        # raw[0] holds zeros (+0 and -0) and subnormal numbers; only then is counting zeros worth a pass
        exact_zeros = int(np.count_nonzero(g == 0)) if raw[0] else 0
        raw[0] -= exact_zeros
        mask = size - 1  # the exponent of inf and NaN
        if name not in self.low:
            used = np.flatnonzero(raw[:mask])  # not inf/NaN (all exponent bits set)
            top = int(used[-1]) - bias + 2 if len(used) else 0
            self.low[name] = top - self.bins
            # raw bin e holds |g| in [2**(e-bias), 2**(e-bias+1)): map it to a fixed bin,
            # the lowest bin taking everything smaller, the highest everything larger.
            self._index[name] = np.clip(np.arange(size) - bias - self.low[name], 0, self.bins - 1)
        binned = np.bincount(self._index[name], weights=raw, minlength=self.bins).astype(np.int64)
        return binned, exact_zeros
