"""The registry: style name -> (class, one line on what the tutorial cell teaches).

A new style is one new file plus one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StyleInfo:
    name: str
    module: str
    cls: str
    title: str
    lesson: str
    notice: str  # lecture mode: what the audience should notice
    curve_notice: str = ""  # the same, where it differs on a curve (data sin, abs, ...)

    def load(self):
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.cls)

    def source(self) -> str:
        """The code the engine runs for this style, as the app shows it (read, not imported: no torch)."""
        return (Path(__file__).parent / f"{self.module}.py").read_text(encoding="utf-8")


STYLES = {
    s.name: s
    for s in (
        StyleInfo(
            "numpy",
            "numpy_backprop",
            "NumpyNet",
            "NumPy, backprop by hand",
            "Every gradient written out with NumPy: the chain rule, one matrix product at a time.",
            "The loss falls from tens of millions to a millionth in 500 steps; every gradient is written by hand.",
            "The line bends onto the curve, one kink per hidden unit; every gradient is written by hand.",
        ),
        StyleInfo(
            "tensor",
            "tensor_backprop",
            "TensorNet",
            "Tensors, backprop by hand",
            "The same code on torch tensors: same numbers, and it could run on a GPU.",
            "The same curve as NumPy: the same maths on torch tensors, which could run on a GPU.",
        ),
        StyleInfo(
            "autograd",
            "autograd",
            "AutogradNet",
            "Autograd",
            "loss.backward() computes the gradients the first two styles wrote by hand.",
            "Still the same curve: loss.backward() finds exactly the gradients we wrote by hand.",
        ),
        StyleInfo(
            "function",
            "function",
            "FunctionNet",
            "Custom autograd Function",
            "A ReLU with its own backward: you can teach autograd a new operation.",
            "The same curve again: our own ReLU backward agrees with PyTorch's.",
        ),
        StyleInfo(
            "nn",
            "nn_sequential",
            "SequentialNet",
            "nn.Sequential",
            "Layers as Modules with weights and biases; a built-in loss function.",
            "A new start (nn.Linear brings biases and another initialisation), so a new curve, from far less code.",
        ),
        StyleInfo(
            "optim",
            "optim",
            "OptimNet",
            "torch.optim",
            "An optimizer (Adam) does the update; Adam reaches a low loss much faster.",
            "Adam at the same learning rate: the loss falls much faster than with plain SGD.",
            "Adam fits the curve far more closely in the same 500 steps than plain SGD does.",
        ),
        StyleInfo(
            "module",
            "module",
            "ModuleNet",
            "Custom nn.Module",
            "Your own Module with its own forward(); SGD from torch.optim.",
            "Exactly the numbers of nn.Sequential with SGD: a Module is a tidier way to write the same network.",
        ),
        StyleInfo(
            "dynamic",
            "dynamic",
            "DynamicStyle",
            "DynamicNet: control flow + weight sharing",
            "The graph changes every step; one layer is reused 0 to 3 times. The loss is noisy.",
            "The loss is noisy: every step draws a new depth and reuses one layer's weights.",
        ),
    )
}
