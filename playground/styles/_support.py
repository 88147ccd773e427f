"""What the trainer needs from every style, kept out of the style files.

A style file reads like its tutorial cell: ``__init__`` is the set-up part of
the cell and ``step`` is the body of its ``for t in range(500)`` loop. The
mixins below give the trainer a uniform view of it (``contract.Style``): its
weights, their gradients, a learning rate that can change between steps, and
a depth. For the fit chart and the activation histograms they also run the network
outside training, with the weights as they are (``hidden_input``, ``predict``,
``hidden_lines``): the same maths as the style's forward pass, on other inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# torch is imported where it is used, not here: the NumPy style never imports it. A tensor is
# told from an array by what it has: ``.detach()``.


def _like(x, like):
    """Inputs ``x`` (a float64 array, or already this run's tensor) as the style holds ``like``."""
    if isinstance(like, np.ndarray):
        return np.asarray(x).astype(like.dtype, copy=False)
    if not hasattr(x, "detach"):
        import torch

        x = torch.from_numpy(x)
    return x.to(device=like.device, dtype=like.dtype)


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


class FixedDepth:
    """A network whose depth does not change: only DynamicNet draws one, each step."""

    depth: int | None = None


class HandUpdated(FixedDepth):
    """A style that keeps its weights in ``self.weights`` and updates them by hand."""

    learning_rate: float
    weights: dict
    grads: dict

    def parameters(self) -> dict:
        return self.weights

    def gradients(self) -> dict:
        return self.grads

    def hidden_input(self, x=None):
        """What the hidden layer's ReLU sees, ``x.mm(w1)`` (the training batch when ``x`` is None)."""
        w1 = self.parameters()["w1"]
        return (self.x if x is None else _like(x, w1)) @ w1

    def predict(self, x) -> np.ndarray:
        """The network's output for inputs ``x``, as NumPy float64."""
        w2 = self.parameters()["w2"]
        return _numpy(self.hidden_input(x).clip(min=0) @ w2)

    def hidden_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Each hidden unit's input as a line a * x + b, for a curve's x beside a column of ones."""
        w1 = _numpy(self.parameters()["w1"])
        return w1[0], w1[1]


class KeepsGradients:
    """A style whose weights are torch tensors with their ``.grad``, which pickle does not keep:
    a parked run (``server/worker.py``) keeps them, so that a run whose gradients pile up (no
    ``zero_grad``, a classic mistake) goes on from a restore exactly as it would have."""

    def _leaves(self) -> dict:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_grads": {name: w.grad for name, w in self._leaves().items()}}

    def __setstate__(self, state: dict) -> None:
        grads = state.pop("_grads", {})
        self.__dict__.update(state)
        for name, w in self._leaves().items():
            w.grad = grads.get(name)


class AutogradWeights(KeepsGradients, HandUpdated):
    """Hand-updated weights whose gradients autograd leaves in ``.grad``."""

    def _leaves(self) -> dict:
        return self.weights

    def parameters(self) -> dict:
        return {name: w.detach() for name, w in self.weights.items()}

    def gradients(self) -> dict:
        return {name: w.grad for name, w in self.weights.items()}


class ModelStyle(KeepsGradients, FixedDepth):
    """A style built on an ``nn.Module`` in ``self.model``."""

    def _leaves(self) -> dict:
        return dict(self.model.named_parameters())

    model: object

    def parameters(self) -> dict:
        return {name: p.detach() for name, p in self.model.named_parameters()}

    def gradients(self) -> dict:
        return {name: p.grad for name, p in self.model.named_parameters()}

    def _first_layer(self) -> torch.nn.Linear:
        """The nn.Linear that feeds the first ReLU layer ("0.weight" is layer "0")."""
        return self.model.get_submodule(self.relu_layers[0].weight.rsplit(".", 1)[0])

    def hidden_input(self, x=None):
        """What the first ReLU layer sees: its nn.Linear applied to ``x`` (the training batch when None)."""
        import torch

        layer = self._first_layer()
        with torch.no_grad():
            return layer(self.x if x is None else _like(x, layer.weight))

    def predict(self, x) -> np.ndarray:
        """The model's output for inputs ``x``, as NumPy float64."""
        import torch

        with torch.no_grad():
            return _numpy(self.model(_like(x, self._first_layer().weight)))

    def hidden_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Each unit of the first ReLU layer as a line a * x + b, for one input x."""
        layer = self._first_layer()
        return _numpy(layer.weight)[:, 0], _numpy(layer.bias)


class OptimizerStyle(ModelStyle):
    """A style whose ``self.optimizer`` (torch.optim) updates the weights."""

    optimizer: object

    @property
    def learning_rate(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = value


class _Repeat:
    """Dice that always come up ``depth``."""

    def __init__(self, depth: int):
        self.depth = depth

    def randint(self, low: int, high: int) -> int:
        return self.depth


class DrawnDepthStyle(OptimizerStyle):
    """DynamicNet: a model whose forward pass draws a depth with ``model.random``."""

    def predict(self, x) -> np.ndarray:
        """The model at the depth the last step drew (the smallest before any step). Its own dice
        stay untouched, so predicting does not change the run."""
        model = self.model
        dice, depth = model.random, model.depth
        model.random = _Repeat(model.min_depth if depth is None else depth)
        try:
            return super().predict(x)
        finally:
            model.random, model.depth = dice, depth
