"""A custom nn.Module: TwoLayerNet defines its own forward."""

import torch

from ..optimizers import make_optimizer
from ._support import OptimizerStyle
from .contract import ReluLayer


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        """Two nn.Linear modules, kept as members."""
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        """Take the input tensor, return the output tensor."""
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


class ModuleNet(OptimizerStyle):
    relu_layers = [ReluLayer("hidden", "linear1.weight", unit_axis=0)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)

        self.model = TwoLayerNet(cfg.d_in, cfg.hidden, cfg.d_out)
        # First the run's dtype and device, then the starting weights: a float64 run gets them exactly
        self.model.to(device=problem.device, dtype=problem.dtype)
        problem.load_linear(self.model.linear1, problem.linear1)
        problem.load_linear(self.model.linear2, problem.linear2)

        # The tutorial: torch.optim.SGD(model.parameters(), lr=1e-4)
        self.criterion = torch.nn.MSELoss(reduction="sum")
        self.optimizer = make_optimizer(cfg, self.model.parameters())

    def step(self):
        x, y, model, optimizer = self.x, self.y, self.model, self.optimizer

        # Forward pass: compute predicted y by passing x to the model
        y_pred = model(x)
        loss = self.criterion(y_pred, y)

        # Zero gradients, perform a backward pass, and update the weights
        # MISTAKE: optimizer.zero_grad() is missing: backward() adds to the old gradients
        loss.backward()
        optimizer.step()

        return loss.item()
