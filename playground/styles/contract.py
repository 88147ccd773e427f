"""What the trainer needs from a style, written down.

A style is one tutorial cell as a class: ``__init__`` is the set-up part of the
cell and ``step`` the body of its ``for t in range(500)`` loop. The trainer, the
gradient statistics and the step inspector use a style through ``Style`` below
and nothing else. The mixins in ``_support`` supply most of it, so that a style
file can read like its cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

    Array = np.ndarray | torch.Tensor


class ReluLayer(NamedTuple):
    """A layer of ReLU units whose dead units the statistics count.

    A unit is dead for a step when no gradient reached any of its incoming
    weights: its ReLU was off for every example.
    """

    label: str
    """The layer's name in a trainer row: its dead fraction is ``dead.<label>``."""

    weight: str
    """The weight that feeds the layer's units: a key of ``parameters()``."""

    unit_axis: int
    """The axis of that weight along which the units lie: 1 for a ``(D_in, H)`` weight
    such as ``w1``, 0 for an ``nn.Linear`` weight, which is ``(H, D_in)``."""


@runtime_checkable
class Style(Protocol):
    """One way of writing the network, as the trainer drives it."""

    relu_layers: Sequence[ReluLayer]
    """The hidden ReLU layers whose dead units are counted (a class attribute)."""

    depth: int | None
    """How many times the last step applied the shared middle layer (DynamicNet);
    None for a network whose depth is fixed (the default in ``_support``)."""

    learning_rate: float
    """The learning rate of the next step; the trainer reads it and may set it between steps."""

    def parameters(self) -> Mapping[str, Array]:
        """The weights by name, as live views: an update in place shows in them."""
        ...

    def gradients(self) -> Mapping[str, Array | None]:
        """The last step's gradients, with the names of ``parameters()``; None for a
        weight the step did not use (DynamicNet's middle layer at depth 0)."""
        ...

    def step(self) -> float:
        """One training step (forward pass, loss, backward pass, update); returns the
        loss computed in the forward pass, before the update. Written out in the
        style's own class: the step inspector traces this code line by line."""
        ...


class Layer(NamedTuple):
    """One layer of a style's network, in the order its forward pass applies it: what the gradient
    check (``inspection/gradcheck.py``) computes again, in float64, to check the style's gradients."""

    weight: str
    """The layer's weight: a key of ``parameters()``."""

    bias: str | None = None
    """An ``nn.Linear``'s bias, whose weight is ``(out, in)``: the layer is ``x W^T + b``. None: a
    bias-free layer as the first cells write it, ``x.mm(w)`` with ``w`` ``(in, out)``."""

    repeated: bool = False
    """DynamicNet's middle layer: applied as many times as the step drew (``depth``)."""
