"""Autograd: PyTorch computes the backward pass; the update is still by hand."""

import torch

from ._support import AutogradWeights
from .contract import ReluLayer


class AutogradNet(AutogradWeights):
    relu_layers = [ReluLayer("hidden", "w1", unit_axis=1)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)
        # requires_grad=True: autograd computes gradients with respect to the weights
        self.weights = {
            "w1": problem.tensor(problem.w1).requires_grad_(True),
            "w2": problem.tensor(problem.w2).requires_grad_(True),
        }
        self.learning_rate = cfg.lr

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # Forward pass: the same operations, recorded by autograd
        y_pred = x.mm(w1).clamp(min=0).mm(w2)

        # The loss is a tensor of shape (); loss.item() is its value
        loss = (y_pred - y).pow(2).sum()

        # Backward pass: fills w1.grad and w2.grad. backward() adds to .grad,
        # MISTAKE: the previous step's gradients are never forgotten (w1.grad = None)
        loss.backward()

        # Update the weights by hand; autograd must not track this
        with torch.no_grad():
            w1 -= self.learning_rate * w1.grad
            w2 -= self.learning_rate * w2.grad

        return loss.item()
