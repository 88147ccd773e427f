"""The random data and the starting weights, the same for every style.

For one seed every style sees the same x and y. The bias-free styles start from
the same w1, w2 (standard normal, as in the tutorial); the styles built from
``nn.Linear`` start from the same weights and biases, drawn the way
``nn.Linear`` draws them (uniform in +-1/sqrt(fan_in)). Everything is drawn in
float64 on the CPU from a generator of its own, then cast, so that a float32
run and a float64 run, or a CPU run and a GPU run, start from the same numbers.

With a curve for data (``curves.py``: sin, abs, ...) x is the points' x, one column.
The bias-free styles then get a second column of ones beside it: their only way to a
bias, without which every hidden unit would kink at x = 0 (w1 has a row for it).

A NumPy run in a process that has not imported torch draws the same numbers without it
(``draws.py``; ``trainer.make_problem`` chooses).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from . import curves
from .config import BIAS_FREE_STYLES, CURVE_DATA, Config
from .devices import resolve
from .draws import curve_inputs, stream_seed


@dataclass
class Linear:
    weight: torch.Tensor  # (out_features, in_features), like nn.Linear
    bias: torch.Tensor


@dataclass
class Problem:
    """The data, and the starting weights drawn when a style first asks for them.

    Each kind of weight has a generator stream of its own, so a style that never asks for
    some (the bias-free ones never use ``linear1``; only DynamicNet uses ``middle``, H x H)
    costs no time drawing them, and the others' numbers are the same either way.
    """

    x: torch.Tensor
    y: torch.Tensor
    dtype: torch.dtype
    device: torch.device
    seed: int
    d_in: int
    hidden: int
    d_out: int
    ones_column: bool = False  # a curve, for a bias-free style: x has a column of ones (see above)

    def _stream(self, k: int) -> torch.Generator:
        return torch.Generator().manual_seed(stream_seed(self.seed, k))  # 0: the data (make_problem)

    @functools.cached_property
    def _free(self) -> tuple[torch.Tensor, torch.Tensor]:
        gen = self._stream(1)
        w1 = torch.randn(self.x.shape[1], self.hidden, generator=gen, dtype=torch.float64)  # D_in, or x and ones
        return w1, torch.randn(self.hidden, self.d_out, generator=gen, dtype=torch.float64)

    @functools.cached_property
    def _linear(self) -> tuple[Linear, Linear]:
        gen = self._stream(2)
        return _uniform_linear(gen, self.d_in, self.hidden), _uniform_linear(gen, self.hidden, self.d_out)

    @property
    def w1(self) -> torch.Tensor:  # (D_in, H), bias-free styles
        return self._free[0]

    @property
    def w2(self) -> torch.Tensor:  # (H, D_out)
        return self._free[1]

    @property
    def linear1(self) -> Linear:  # D_in -> H
        return self._linear[0]

    @property
    def linear2(self) -> Linear:  # H -> D_out
        return self._linear[1]

    @functools.cached_property
    def middle(self) -> Linear:  # H -> H, DynamicNet only: a stream of its own, so its outer layers equal TwoLayerNet's
        return _uniform_linear(self._stream(3), self.hidden, self.hidden)

    def tensor(self, value: torch.Tensor) -> torch.Tensor:
        """A fresh copy of ``value`` in this run's dtype, on this run's device."""
        return value.to(device=self.device, dtype=self.dtype, copy=True)

    def array(self, value: torch.Tensor) -> np.ndarray:
        """A fresh NumPy copy of ``value`` in this run's dtype."""
        return value.numpy().astype(np.dtype(str(self.dtype).removeprefix("torch.")), copy=True)

    def inputs(self, points: np.ndarray) -> torch.Tensor:
        """A curve's inputs for x values ``points`` as this run's x holds them: a column, beside
        a column of ones where the style has no biases (float64, on the CPU)."""
        return _curve_inputs(points, self.ones_column)

    def load_linear(self, layer: torch.nn.Linear, init: Linear) -> None:
        """Give an ``nn.Linear`` layer this problem's starting weights.

        The layer must already be in this run's dtype (``model.to(dtype=...)``
        first): the float64 weights are then rounded once, straight into it, and a
        float64 run holds them exactly. A float32 layer in a float64 run is refused,
        since casting it afterwards would keep the float32 rounding.
        """
        for param in (layer.weight, layer.bias):
            if param.dtype != self.dtype:
                raise TypeError(
                    f"load_linear: the layer holds {param.dtype}, but this run is {self.dtype}; "
                    "move the model to the run's dtype and device before loading its weights"
                )
        with torch.no_grad():
            layer.weight.copy_(init.weight)
            layer.bias.copy_(init.bias)


def _curve_inputs(points: np.ndarray, ones_column: bool) -> torch.Tensor:
    return torch.from_numpy(curve_inputs(points, ones_column))


def _uniform_linear(gen: torch.Generator, fan_in: int, fan_out: int) -> Linear:
    bound = 1.0 / fan_in**0.5
    weight = (torch.rand(fan_out, fan_in, generator=gen, dtype=torch.float64) * 2 - 1) * bound
    bias = (torch.rand(fan_out, generator=gen, dtype=torch.float64) * 2 - 1) * bound
    return Linear(weight, bias)


def make_problem(cfg: Config) -> Problem:
    device = resolve(cfg.device)
    data = torch.Generator().manual_seed(stream_seed(cfg.seed, 0))  # the weights' streams are 1, 2 and 3 (Problem)
    N, D_in, H, D_out = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    ones_column = False
    if cfg.data in CURVE_DATA:  # one input, one output: the points of a curve
        ones_column = cfg.style in BIAS_FREE_STYLES
        points, values = curves.points(cfg.data, N, cfg.seed)
        x = _curve_inputs(points, ones_column)
        y = torch.as_tensor(values).reshape(-1, 1)
    else:
        x = torch.randn(N, D_in, generator=data, dtype=torch.float64)
        y = torch.randn(N, D_out, generator=data, dtype=torch.float64)
    dtype = getattr(torch, cfg.dtype)
    return Problem(x, y, dtype, device, cfg.seed, D_in, H, D_out, ones_column=ones_column)
