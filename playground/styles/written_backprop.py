"""The hand-written cells with a learner's own backward pass and update: the cell's forward pass
and loss as its file writes them, then the learner's lines, run by ``inspection/written.py``
within its grammar (they are never run as Python)."""

import numpy as np

from ..inspection import written
from .numpy_backprop import NumpyNet
from .tensor_backprop import TensorNet


class _Written:
    """The learner's lines, checked once for the run's shapes (``Config`` checked them already)."""

    backend = "numpy"

    def _program(self, cfg):
        shapes = written.shapes_of(*self.x.shape, self.weights["w1"].shape[1], self.y.shape[1])
        return written.for_training(cfg.backward, shapes, self.backend)

    def _backward(self, x, y, w1, w2, h, h_relu, y_pred):
        # The learner's lines: the names of the step in, the gradients (and the updated weights) out
        names = {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "h_relu": h_relu, "y_pred": y_pred}
        names = written.evaluate(self.program, {**names, written.RATE: self.learning_rate}, copy=False)
        self.grads = {"w1": names["grad_w1"], "w2": names["grad_w2"]}


class NumpyWritten(_Written, NumpyNet):
    def __init__(self, problem, cfg):
        super().__init__(problem, cfg)
        self.program = self._program(cfg)

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # Forward pass: compute predicted y
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)

        # Compute the loss
        loss = np.square(y_pred - y).sum()

        # Backprop and update: your lines
        self._backward(x, y, w1, w2, h, h_relu, y_pred)
        return float(loss)


class TensorWritten(_Written, TensorNet):
    backend = "torch"

    def __init__(self, problem, cfg):
        super().__init__(problem, cfg)
        self.program = self._program(cfg)

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # Forward pass: compute predicted y
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)

        # Compute the loss
        loss = (y_pred - y).pow(2).sum().item()

        # Backprop and update: your lines
        self._backward(x, y, w1, w2, h, h_relu, y_pred)
        return loss
