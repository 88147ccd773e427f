"""The registry: every style, in the tutorial's order, with what the rest of the program knows of it.

A new style is one file plus one entry here:

1. the file: a class that reads like its tutorial cell (``__init__(problem, cfg)`` is the set-up,
   ``step()`` the body of the loop) and keeps ``contract.Style``, mostly through a mixin from
   ``_support``. It lives in this package (``module="my_style"``), or anywhere on the import path
   (``module="somewhere.my_style"``: a name with a dot is imported as it is);
2. the entry: one ``StyleInfo`` in ``STYLES`` below, which names the file and its class, says what
   the page shows of it (title, lesson, lecture notices), and holds its facts: its tutorial
   defaults, its network layer by layer (for the gradient check), its learning rate on the
   curves, whether it trains with NumPy, updates its weights by hand, or has no biases, and its
   twin (the cell that computes the same gradients, for the step inspection), and whether its
   gradients are checked as it trains (a backward pass written by hand).

Nothing else changes: ``config`` derives its lists of styles from this registry (``config.STYLES``,
``STYLE_DEFAULTS``, ``CURVE_LR``, ``NUMPY_STYLES``, ...), and the command line, the sidebar, links,
comparisons, the code panel and the exports read them. Its place here is its place in the
tutorial's order, which decides the cell its diff compares against. ``tests/test_new_style.py``
proves the recipe with a throwaway style in a temporary file.

This module imports no other module of the package (``config`` imports it) and no torch.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from .contract import Layer

#: The networks the styles build, layer by layer, as the gradient check computes them again.
BIAS_FREE_NET = (Layer("w1"), Layer("w2"))  # x.mm(w1).clamp(min=0).mm(w2)
SEQUENTIAL_NET = (Layer("0.weight", "0.bias"), Layer("2.weight", "2.bias"))  # nn.Sequential(Linear, ReLU, Linear)
MODULE_NET = (Layer("linear1.weight", "linear1.bias"), Layer("linear2.weight", "linear2.bias"))
DYNAMIC_NET = (
    Layer("input_linear.weight", "input_linear.bias"),
    Layer("middle_linear.weight", "middle_linear.bias", repeated=True),
    Layer("output_linear.weight", "output_linear.bias"),
)


@dataclass(frozen=True)
class StyleInfo:
    name: str
    module: str  # a file of this package ("numpy_backprop"), or a full dotted path ("pkg.my_style")
    cls: str  # the class in it
    title: str
    lesson: str
    notice: str  # lecture mode: what the audience should notice
    curve_notice: str = ""  # the same, where it differs on a curve (data sin, abs, ...)
    _: KW_ONLY
    defaults: dict[str, Any] = field(hash=False)
    """The settings the tutorial's cell uses (learning rate, optimizer, ...), above the settings' own."""

    layers: tuple[Layer, ...]
    """Its network, layer by layer, by the names of ``parameters()``: the gradient check computes it
    again in float64 (``contract.Layer``)."""

    curve_lr: float
    """The learning rate on the curves (data sin, abs, ...), with the style's own optimizer, for
    N=64 points and H=100: measured over seeds 0-19 (500 steps), the rate with the best worst seed
    among those that never diverged, a safe step below where the first seeds diverge. One rate per
    style suits all four curves. Plain SGD on the summed loss is held back by that edge: the
    bias-free styles diverge from 1.2e-4 (their start, N(0, 1) weights as the tutorial draws them,
    gives a loss near 1e4); nn and module from 7e-4 on 40% of seeds; DynamicNet's momentum from
    1e-4. Adam (optim) needs no such care. The styles the tutorial says compute the same numbers
    share a rate. tests/test_fit.py checks the fits."""

    trains_with_numpy: bool = False
    """It trains with NumPy, not torch: on the CPU only, and without importing torch."""

    updates_by_hand: bool = False
    """It updates its weights by hand (plain SGD), without ``torch.optim``: the optimizer does not apply."""

    bias_free: bool = False
    """Its network has no biases (``x.mm(w1)``, as the tutorial's first cells): on a curve its input
    x comes beside a column of ones, whose weights act as biases."""

    twin: str = ""
    """The cell before or after it that computes the same gradients by other means: the step
    inspection takes the same step in it, from the same weights, and compares. "": none."""

    live_check: bool = False
    """Its gradients are checked as it trains, beside the metrics (``Trainer(checks=True)``): its
    backward pass is written by hand, in part or in whole, so it can be wrong. Every mistake's is."""

    @property
    def module_path(self) -> str:
        """The module to import: a name with a dot as it is, else a file of this package."""
        return self.module if "." in self.module else f"{__name__}.{self.module}"

    def load(self):
        return getattr(importlib.import_module(self.module_path), self.cls)

    def source(self) -> str:
        """The code the engine runs for this style, as the app shows it (read, not imported: no torch)."""
        if "." not in self.module:
            return (Path(__file__).parent / f"{self.module}.py").read_text(encoding="utf-8")
        return Path(importlib.util.find_spec(self.module).origin).read_text(encoding="utf-8")


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
            defaults={"lr": 1e-6, "optimizer": "sgd", "dtype": "float64"},  # NumPy's default
            layers=BIAS_FREE_NET,
            curve_lr=8e-5,
            trains_with_numpy=True,
            updates_by_hand=True,
            bias_free=True,
            twin="autograd",
            live_check=True,
        ),
        StyleInfo(
            "tensor",
            "tensor_backprop",
            "TensorNet",
            "Tensors, backprop by hand",
            "The same code on torch tensors: same numbers, and it could run on a GPU.",
            "The same curve as NumPy: the same maths on torch tensors, which could run on a GPU.",
            defaults={"lr": 1e-6, "optimizer": "sgd"},
            layers=BIAS_FREE_NET,
            curve_lr=8e-5,
            updates_by_hand=True,
            bias_free=True,
            twin="autograd",
            live_check=True,
        ),
        StyleInfo(
            "autograd",
            "autograd",
            "AutogradNet",
            "Autograd",
            "loss.backward() computes the gradients the first two styles wrote by hand.",
            "Still the same curve: loss.backward() finds exactly the gradients we wrote by hand.",
            defaults={"lr": 1e-6, "optimizer": "sgd"},
            layers=BIAS_FREE_NET,
            curve_lr=8e-5,
            updates_by_hand=True,
            bias_free=True,
            twin="function",
        ),
        StyleInfo(
            "function",
            "function",
            "FunctionNet",
            "Custom autograd Function",
            "A ReLU with its own backward: you can teach autograd a new operation.",
            "The same curve again: our own ReLU backward agrees with PyTorch's.",
            defaults={"lr": 1e-6, "optimizer": "sgd"},
            layers=BIAS_FREE_NET,
            curve_lr=8e-5,
            updates_by_hand=True,
            bias_free=True,
            twin="autograd",
            live_check=True,
        ),
        StyleInfo(
            "nn",
            "nn_sequential",
            "SequentialNet",
            "nn.Sequential",
            "Layers as Modules with weights and biases; a built-in loss function.",
            "A new start (nn.Linear brings biases and another initialisation), so a new curve, from far less code.",
            defaults={"lr": 1e-4, "optimizer": "sgd"},
            layers=SEQUENTIAL_NET,
            curve_lr=4e-4,
            updates_by_hand=True,
            twin="module",
        ),
        StyleInfo(
            "optim",
            "optim",
            "OptimNet",
            "torch.optim",
            "An optimizer (Adam) does the update; Adam reaches a low loss much faster.",
            "Adam at the same learning rate: the loss falls much faster than with plain SGD.",
            "Adam fits the curve far more closely in the same 500 steps than plain SGD does.",
            defaults={"lr": 1e-4, "optimizer": "adam"},
            layers=SEQUENTIAL_NET,
            curve_lr=1e-2,
            twin="module",
        ),
        StyleInfo(
            "module",
            "module",
            "ModuleNet",
            "Custom nn.Module",
            "Your own Module with its own forward(); SGD from torch.optim.",
            "Exactly the numbers of nn.Sequential with SGD: a Module is a tidier way to write the same network.",
            defaults={"lr": 1e-4, "optimizer": "sgd"},
            layers=MODULE_NET,
            curve_lr=4e-4,
            twin="nn",
        ),
        StyleInfo(
            "dynamic",
            "dynamic",
            "DynamicStyle",
            "DynamicNet: control flow + weight sharing",
            "The graph changes every step; one layer is reused 0 to 3 times. The loss is noisy.",
            "The loss is noisy: every step draws a new depth and reuses one layer's weights.",
            defaults={"lr": 1e-4, "optimizer": "momentum", "momentum": 0.9},
            layers=DYNAMIC_NET,
            curve_lr=6e-5,
        ),
    )
}


# ------------------------------------------------------------------ the classic mistakes


@dataclass(frozen=True)
class Mistake:
    """A famous backprop bug, run for real: for each style it applies to, a copy of the style's file
    with that one bug (``numpy_backprop_no_relu_mask.py`` beside ``numpy_backprop.py``), so the code
    panel can show it as a diff against the correct cell."""

    name: str
    title: str
    variants: dict[str, str] = field(hash=False)  # style -> the file with the bug, in this package
    shows: str = ""  # what it teaches
    look_for: str = ""  # what to look for on the page
    diverged: str = ""  # what a run with it that diverges is told: what the mistake did, not a learning rate

    def info(self, style: str) -> StyleInfo:
        """The style's entry, pointed at the file with the bug."""
        return dataclasses.replace(STYLES[style], module=self.variants[style], live_check=True)


MISTAKES = {
    m.name: m
    for m in (
        Mistake(
            "no_relu_mask",
            "The ReLU's mask forgotten in the backward pass",
            {"numpy": "numpy_backprop_no_relu_mask", "tensor": "tensor_backprop_no_relu_mask"},
            "The most common hand-written backprop bug: grad_h is grad_h_relu, as if the ReLU let every "
            "gradient through.",
            "The gradient check flags w1 alone (w2's gradient never passes the ReLU); in the graph grad_h "
            "has no mask edge from h. On the tutorial's random data the loss falls almost as fast (the wrong "
            "gradient still points downhill): only the check catches it. On a curve the fit stays far worse.",
            diverged="This run has the ReLU's mask forgotten: its gradient is wrong wherever h < 0, so a "
            "smaller learning rate may train it, but never with the right gradient. Set the mistake to none for "
            "the correct cell.",
        ),
        Mistake(
            "no_zero_grad",
            "zero_grad() forgotten",
            {"autograd": "autograd_no_zero_grad", "optim": "optim_no_zero_grad", "module": "module_no_zero_grad"},
            "backward() adds to .grad: without zeroing it, every step's gradient holds all the earlier ones.",
            "The first two steps equal the correct run's; from the third on the loss parts from it and stalls "
            "or diverges. The gradient check flags every weight from the second step on (the first step has "
            "no old gradient to add to).",
            diverged="backward() added each step's gradient to all the earlier ones left in .grad, so every "
            "step is larger than the one before: a smaller learning rate only delays the blow-up. Zero the "
            "gradients each step (the mistake set to none).",
        ),
        Mistake(
            "relu_backward_unmasked",
            "A custom backward that passes the gradient through",
            {"function": "function_relu_backward_unmasked"},
            "A custom autograd Function whose backward forgets what its forward did: autograd trusts it.",
            "The gradient check flags w1: the gradient came back through MyReLUBackward unmasked. Walk the "
            "backward pass to MyReLUBackward: its backward lines have no mask. The loss, as with the "
            "hand-written mask forgotten, hardly shows it on random data; a curve does.",
            diverged="MyReLU's backward passes the gradient through where its input was negative, so the "
            "gradient is wrong there: a smaller learning rate may train it, never with the right gradient. Set "
            "the mistake to none for the correct backward.",
        ),
        Mistake(
            "wrong_sign",
            "The update climbs the loss (+ instead of −)",
            {"numpy": "numpy_backprop_wrong_sign"},
            "The gradients are right and the gradient check says so; the update goes up the slope.",
            "The gradient check matches, yet the loss grows from the first step and diverges within ten: a "
            "check of the gradients cannot see a bug in the update.",
            diverged="The update adds the gradient instead of subtracting it, so every step climbs the loss: "
            "no learning rate fixes that. Set the mistake to none to see the update go downhill.",
        ),
    )
}


#: The classes that train a hand-written cell with a learner's own backward pass (``backward``).
WRITTEN = {"numpy": "NumpyWritten", "tensor": "TensorWritten"}


def written_style(style: str):
    """The class that trains ``style`` with a learner's backward pass (``written_backprop.py``)."""
    return getattr(importlib.import_module(f"{__name__}.written_backprop"), WRITTEN[style])


def style_info(style: str, mistake: str = "none") -> StyleInfo:
    """The entry the engine runs: the style's own, or its copy with ``mistake``."""
    return STYLES[style] if mistake == "none" else MISTAKES[mistake].info(style)
