"""The random data and the starting weights, the same for every style.

For one seed every style sees the same x and y. The bias-free styles start from the same
w1, w2 (standard normal, as in the tutorial); the styles built from ``nn.Linear`` start from
the same weights and biases, drawn the way ``nn.Linear`` draws them (uniform within
+-1/sqrt(fan_in)). Everything is drawn in float64 on the CPU, then cast, so that a float32 run
and a float64 run, or a CPU run and a GPU run, start from the same numbers.

The numbers come from NumPy's legacy generator, ``np.random.RandomState``, whose streams NumPy
keeps frozen from one release to the next; torch styles take them with ``torch.from_numpy``.
So a NumPy run never imports torch. Each kind of number has a stream of its own, seeded
``[seed, stream]``: a style that never asks for some weights costs no time drawing them, and the
others' numbers are the same either way.

With a curve for data (``curves.py``: sin, abs, ...) x is the points' x, one column. The
bias-free styles then get a second column of ones beside it: their only way to a bias, without
which every hidden unit would kink at x = 0 (w1 has a row for it).

Run files of version 2 and before were drawn with torch's generator: ``legacy=True`` draws
those numbers again (``TorchDraws``), so that such a file replays to the losses it holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import curves
from .config import BIAS_FREE_STYLES, CURVE_DATA, NUMPY_STYLES, Config

#: The generator streams of a run: its data, the bias-free weights, the nn.Linear layers, DynamicNet's middle layer.
DATA, FREE, LINEAR, MIDDLE = range(4)


class Draws:
    """A run's generator ``stream``: standard normals and uniforms on [0, 1), float64."""

    def __init__(self, seed: int, stream: int):
        self.state = np.random.RandomState([seed, stream])

    def normal(self, *shape: int) -> np.ndarray:
        return self.state.standard_normal(shape)

    def uniform(self, *shape: int) -> np.ndarray:
        return self.state.random_sample(shape)


class TorchDraws:
    """The numbers of run files of version 2 and before: torch's generator, seeded ``seed * 4 + stream``."""

    def __init__(self, seed: int, stream: int):
        import torch

        self.torch = torch
        self.generator = torch.Generator().manual_seed(seed * 4 + stream)

    def normal(self, *shape: int) -> np.ndarray:
        return self.torch.randn(*shape, generator=self.generator, dtype=self.torch.float64).numpy()

    def uniform(self, *shape: int) -> np.ndarray:
        return self.torch.rand(*shape, generator=self.generator, dtype=self.torch.float64).numpy()


@dataclass
class Linear:
    weight: np.ndarray  # (out_features, in_features), like nn.Linear
    bias: np.ndarray


@dataclass
class Problem:
    """The data, and the starting weights drawn when a style first asks for them (float64 arrays)."""

    x: np.ndarray
    y: np.ndarray
    dtype_name: str  # the run's dtype: "float32" or "float64"
    device_name: str  # the run's device, checked by make_problem where the style uses torch
    seed: int
    d_in: int
    hidden: int
    d_out: int
    ones_column: bool = False  # a curve, for a bias-free style: x has a column of ones (see above)
    legacy: bool = False  # torch's numbers, for a run file of version 2 or before

    def _draws(self, stream: int) -> Draws | TorchDraws:
        return (TorchDraws if self.legacy else Draws)(self.seed, stream)

    @functools.cached_property
    def _free(self) -> tuple[np.ndarray, np.ndarray]:
        draws = self._draws(FREE)
        w1 = draws.normal(self.x.shape[1], self.hidden)  # D_in, or x and ones
        return w1, draws.normal(self.hidden, self.d_out)

    @functools.cached_property
    def _linear(self) -> tuple[Linear, Linear]:
        draws = self._draws(LINEAR)
        return _uniform_linear(draws, self.d_in, self.hidden), _uniform_linear(draws, self.hidden, self.d_out)

    @property
    def w1(self) -> np.ndarray:  # (D_in, H), bias-free styles
        return self._free[0]

    @property
    def w2(self) -> np.ndarray:  # (H, D_out)
        return self._free[1]

    @property
    def linear1(self) -> Linear:  # D_in -> H
        return self._linear[0]

    @property
    def linear2(self) -> Linear:  # H -> D_out
        return self._linear[1]

    @functools.cached_property
    def middle(self) -> Linear:  # H -> H, DynamicNet only: a stream of its own, so its outer layers equal TwoLayerNet's
        return _uniform_linear(self._draws(MIDDLE), self.hidden, self.hidden)

    @property
    def dtype(self):
        """The run's ``torch.dtype``."""
        import torch

        return getattr(torch, self.dtype_name)

    @functools.cached_property
    def device(self):
        """The run's ``torch.device``."""
        from .devices import resolve

        return resolve(self.device_name)

    def array(self, value: np.ndarray) -> np.ndarray:
        """A fresh NumPy copy of ``value`` in this run's dtype."""
        return value.astype(self.dtype_name, copy=True)

    def tensor(self, value: np.ndarray):
        """A fresh tensor copy of ``value`` in this run's dtype, on this run's device."""
        import torch

        return torch.from_numpy(value).to(device=self.device, dtype=self.dtype, copy=True)

    def inputs(self, points: np.ndarray) -> np.ndarray:
        """A curve's inputs for x values ``points`` as this run's x holds them: a column, beside
        a column of ones where the style has no biases (float64)."""
        return curve_inputs(points, self.ones_column)

    def load_linear(self, layer, init: Linear) -> None:
        """Give an ``nn.Linear`` layer this problem's starting weights.

        The layer must already be in this run's dtype (``model.to(dtype=...)``
        first): the float64 weights are then rounded once, straight into it, and a
        float64 run holds them exactly. A float32 layer in a float64 run is refused,
        since casting it afterwards would keep the float32 rounding.
        """
        import torch

        for param in (layer.weight, layer.bias):
            if param.dtype != self.dtype:
                raise TypeError(
                    f"load_linear: the layer holds {param.dtype}, but this run is {self.dtype}; "
                    "move the model to the run's dtype and device before loading its weights"
                )
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(init.weight))
            layer.bias.copy_(torch.from_numpy(init.bias))


def curve_inputs(points: np.ndarray, ones_column: bool) -> np.ndarray:
    x = np.asarray(points, dtype=np.float64).reshape(-1, 1)
    return np.concatenate([x, np.ones_like(x)], axis=1) if ones_column else x


def _uniform_linear(draws: Draws | TorchDraws, fan_in: int, fan_out: int) -> Linear:
    bound = 1.0 / fan_in**0.5
    weight = (draws.uniform(fan_out, fan_in) * 2 - 1) * bound
    bias = (draws.uniform(fan_out) * 2 - 1) * bound
    return Linear(weight, bias)


def make_problem(cfg: Config, legacy: bool = False) -> Problem:
    """The data and starting weights of run ``cfg``; ``legacy``: torch's numbers (run files of version 2)."""
    N, D_in, H, D_out = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    ones_column = False
    if cfg.data in CURVE_DATA:  # one input, one output: the points of a curve
        ones_column = cfg.style in BIAS_FREE_STYLES
        points, values = curves.points(cfg.data, N, cfg.seed, legacy=legacy)
        x, y = curve_inputs(points, ones_column), values.reshape(-1, 1)
    else:
        draws = (TorchDraws if legacy else Draws)(cfg.seed, DATA)
        x, y = draws.normal(N, D_in), draws.normal(N, D_out)
    problem = Problem(x, y, cfg.dtype, cfg.device, cfg.seed, D_in, H, D_out, ones_column, legacy)
    if cfg.style not in NUMPY_STYLES:
        problem.device  # noqa: B018  (a device that does not exist here is refused now, by name)
    return problem
