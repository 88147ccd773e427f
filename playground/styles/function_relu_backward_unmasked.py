"""A custom autograd Function: ReLU with a forward and a backward of our own."""

import torch

from ._support import AutogradWeights
from .contract import ReluLayer


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        # Save the input for the backward pass, then apply ReLU
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        # The gradient flows through where the input was not negative
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        # MISTAKE: the mask is missing: the gradient passes through where the input was negative
        return grad_input


class FunctionNet(AutogradWeights):
    relu_layers = [ReluLayer("hidden", "w1", unit_axis=1)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)
        self.weights = {
            "w1": problem.tensor(problem.w1).requires_grad_(True),
            "w2": problem.tensor(problem.w2).requires_grad_(True),
        }
        self.learning_rate = cfg.lr

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # To apply our Function, we use its .apply method
        relu = MyReLU.apply

        # Forward pass, with our own ReLU
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()

        # Backward pass: autograd calls MyReLU.backward on the way
        w1.grad = None
        w2.grad = None
        loss.backward()

        # Update the weights by hand
        with torch.no_grad():
            w1 -= self.learning_rate * w1.grad
            w2 -= self.learning_rate * w2.grad

        return loss.item()
