"""The optim package: an optimizer (Adam in the tutorial) updates the weights."""

import torch

from ..optimizers import make_optimizer
from ._support import OptimizerStyle
from .contract import ReluLayer


class OptimNet(OptimizerStyle):
    relu_layers = [ReluLayer("hidden", "0.weight", unit_axis=0)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)

        self.model = torch.nn.Sequential(
            torch.nn.Linear(cfg.d_in, cfg.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(cfg.hidden, cfg.d_out),
        )
        # First the run's dtype and device, then the starting weights: a float64 run gets them exactly
        self.model.to(device=problem.device, dtype=problem.dtype)
        problem.load_linear(self.model[0], problem.linear1)
        problem.load_linear(self.model[2], problem.linear2)
        self.loss_fn = torch.nn.MSELoss(reduction="sum")

        # The tutorial: torch.optim.Adam(model.parameters(), lr=1e-4).
        # Here: the optimizer and learning rate you chose.
        self.optimizer = make_optimizer(cfg, self.model.parameters())

    def step(self):
        x, y, model, optimizer = self.x, self.y, self.model, self.optimizer

        # Forward pass and loss
        y_pred = model(x)
        loss = self.loss_fn(y_pred, y)

        # Zero the gradients (backward() adds to them), backward pass, update
        # MISTAKE: optimizer.zero_grad() is missing: backward() adds to the old gradients
        loss.backward()
        optimizer.step()

        return loss.item()
