"""Control flow and weight sharing: DynamicNet reuses one layer a random number of times."""

import random

import torch

from ..optimizers import make_optimizer
from ._support import DrawnDepthStyle
from .contract import ReluLayer


class DynamicNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out, min_depth=0, max_depth=3, seed=0):
        """Three nn.Linear layers; the middle one is used 0 to 3 times per step."""
        super().__init__()
        self.input_linear = torch.nn.Linear(D_in, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_out)
        self.min_depth, self.max_depth = min_depth, max_depth
        self.random = random.Random(seed)  # this run's own dice (the tutorial: random)
        self.depth = None

    def forward(self, x):
        """Draw a depth, then apply middle_linear that many times.

        Each forward pass builds a new graph, so plain Python loops and
        conditions are fine, and reusing one Module many times shares its weights.
        """
        h_relu = self.input_linear(x).clamp(min=0)
        self.depth = self.random.randint(self.min_depth, self.max_depth)
        for _ in range(self.depth):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        y_pred = self.output_linear(h_relu)
        return y_pred


class DynamicStyle(DrawnDepthStyle):
    relu_layers = [
        ReluLayer("input layer", "input_linear.weight", unit_axis=0),
        ReluLayer("middle layer", "middle_linear.weight", unit_axis=0),
    ]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)

        self.model = DynamicNet(cfg.d_in, cfg.hidden, cfg.d_out, cfg.min_depth, cfg.max_depth, cfg.seed)
        # First the run's dtype and device, then the starting weights: a float64 run gets them exactly
        self.model.to(device=problem.device, dtype=problem.dtype)
        problem.load_linear(self.model.input_linear, problem.linear1)
        problem.load_linear(self.model.middle_linear, problem.middle)
        problem.load_linear(self.model.output_linear, problem.linear2)

        # Plain SGD struggles with this model, so the tutorial uses momentum 0.9
        self.criterion = torch.nn.MSELoss(reduction="sum")
        self.optimizer = make_optimizer(cfg, self.model.parameters())

    @property
    def depth(self):
        return self.model.depth

    def step(self):
        x, y, model, optimizer = self.x, self.y, self.model, self.optimizer

        y_pred = model(x)
        loss = self.criterion(y_pred, y)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        return loss.item()
