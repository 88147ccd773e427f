"""The hand-written cells with a learner's own backward pass and update: the cell's forward pass
and loss, then the learner's lines, run by ``inspection/written.py`` within its grammar (they are
never run as Python). The code panel shows the cell's file with the learner's lines in place of
its own (``ui/written.with_your_lines``): what this computes."""

import numpy as np

from ..inspection import written
from .numpy_backprop import NumpyNet
from .tensor_backprop import TensorNet


def numpy_forward(x, y, w1, w2):
    h = x.dot(w1)  # as numpy_backprop.py writes it
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    return h, h_relu, y_pred, float(np.square(y_pred - y).sum())


def tensor_forward(x, y, w1, w2):
    h = x.mm(w1)  # as tensor_backprop.py writes it
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    return h, h_relu, y_pred, (y_pred - y).pow(2).sum().item()


class _Written:
    """The cell's set-up, the learner's lines checked once for the run's shapes (``Config``
    checked them already), and a step: the cell's forward pass, then the lines."""

    backend, forward = "numpy", staticmethod(numpy_forward)

    def __init__(self, problem, cfg):
        super().__init__(problem, cfg)
        shapes = written.shapes_of(*self.x.shape, self.weights["w1"].shape[1], self.y.shape[1])
        self.program = written.for_training(cfg.backward, shapes, self.backend)

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]
        h, h_relu, y_pred, loss = self.forward(x, y, w1, w2)
        # Backprop and update: your lines, the step's names in, the gradients (and the weights) out
        names = {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "h_relu": h_relu, "y_pred": y_pred}
        names = written.evaluate(self.program, {**names, written.RATE: self.learning_rate}, copy=False)
        self.grads = {"w1": names["grad_w1"], "w2": names["grad_w2"]}
        return loss


class NumpyWritten(_Written, NumpyNet):
    pass


class TensorWritten(_Written, TensorNet):
    backend, forward = "torch", staticmethod(tensor_forward)
