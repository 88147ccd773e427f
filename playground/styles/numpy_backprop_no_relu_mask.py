"""NumPy: the forward pass and the backward pass written by hand."""

import numpy as np

from ._support import HandUpdated
from .contract import ReluLayer


class NumpyNet(HandUpdated):
    # The ReLU layer whose dead units are counted: its units are the columns of w1
    relu_layers = [ReluLayer("hidden", "w1", unit_axis=1)]

    def __init__(self, problem, cfg):
        # Random input and output data. For a curve, its points: x beside a column of ones,
        # so that x.dot(w1) adds a bias (the second row of w1) to every hidden unit
        self.x = problem.array(problem.x)
        self.y = problem.array(problem.y)
        # Randomly initialized weights
        self.weights = {"w1": problem.array(problem.w1), "w2": problem.array(problem.w2)}
        self.learning_rate = cfg.lr

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # Forward pass: compute predicted y
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)

        # Compute the loss
        loss = np.square(y_pred - y).sum()

        # Backprop to compute gradients of w1 and w2 with respect to the loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h_relu = grad_y_pred.dot(w2.T)
        grad_h = grad_h_relu.copy()
        # MISTAKE: the ReLU's mask is missing here (grad_h[h < 0] = 0)
        grad_w1 = x.T.dot(grad_h)

        # Update weights
        w1 -= self.learning_rate * grad_w1
        w2 -= self.learning_rate * grad_w2

        self.grads = {"w1": grad_w1, "w2": grad_w2}
        return float(loss)
