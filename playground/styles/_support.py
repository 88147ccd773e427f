"""What the trainer needs from every style, kept out of the style files.

A style file reads like its tutorial cell: ``__init__`` is the set-up part of
the cell and ``step`` is the body of its ``for t in range(500)`` loop. The
mixins below give the trainer a uniform view of it (``contract.Style``): its
weights, their gradients, a learning rate that can change between steps, and
a depth.
"""

from __future__ import annotations


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


class AutogradWeights(HandUpdated):
    """Hand-updated weights whose gradients autograd leaves in ``.grad``."""

    def parameters(self) -> dict:
        return {name: w.detach() for name, w in self.weights.items()}

    def gradients(self) -> dict:
        return {name: w.grad for name, w in self.weights.items()}


class ModelStyle(FixedDepth):
    """A style built on an ``nn.Module`` in ``self.model``."""

    model: object

    def parameters(self) -> dict:
        return {name: p.detach() for name, p in self.model.named_parameters()}

    def gradients(self) -> dict:
        return {name: p.grad for name, p in self.model.named_parameters()}


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
