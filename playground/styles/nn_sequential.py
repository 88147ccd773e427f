"""The nn package: layers as Modules, a loss function, and a hand-written update."""

import torch

from ._support import ModelStyle
from .contract import ReluLayer


class SequentialNet(ModelStyle):
    relu_layers = [ReluLayer("hidden", "0.weight", unit_axis=0)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)

        # The model is a sequence of layers; each Linear holds a weight and a bias
        self.model = torch.nn.Sequential(
            torch.nn.Linear(cfg.d_in, cfg.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(cfg.hidden, cfg.d_out),
        )
        # First the run's dtype and device, then the starting weights: a float64 run gets them exactly
        self.model.to(device=problem.device, dtype=problem.dtype)
        problem.load_linear(self.model[0], problem.linear1)
        problem.load_linear(self.model[2], problem.linear2)

        # Sum of squared errors, as in the other styles
        self.loss_fn = torch.nn.MSELoss(reduction="sum")
        self.learning_rate = cfg.lr

    def step(self):
        x, y, model = self.x, self.y, self.model

        # Forward pass: a Module is called like a function
        y_pred = model(x)
        loss = self.loss_fn(y_pred, y)

        # Zero the gradients, then compute them for every parameter
        model.zero_grad()
        loss.backward()

        # Update each parameter by hand (gradient descent)
        with torch.no_grad():
            for param in model.parameters():
                param -= self.learning_rate * param.grad

        return loss.item()
