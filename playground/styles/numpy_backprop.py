"""NumPy: the forward pass and the backward pass written by hand."""

import numpy as np

from ._support import HandUpdated


class NumpyNet(HandUpdated):
    # Each hidden layer: (label, weight whose gradient feeds it, axis of its units)
    hidden = [("hidden", "w1", 1)]

    def __init__(self, problem, cfg):
        # Random input and output data
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
        grad_h[h < 0] = 0
        grad_w1 = x.T.dot(grad_h)

        # Update weights
        w1 -= self.learning_rate * grad_w1
        w2 -= self.learning_rate * grad_w2

        self.grads = {"w1": grad_w1, "w2": grad_w2}
        return float(loss)
