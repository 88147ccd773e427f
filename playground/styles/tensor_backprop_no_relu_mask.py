"""PyTorch tensors: the same hand-written backprop, on a tensor that can live on a GPU."""

from ._support import HandUpdated
from .contract import ReluLayer


class TensorNet(HandUpdated):
    relu_layers = [ReluLayer("hidden", "w1", unit_axis=1)]

    def __init__(self, problem, cfg):
        # Random input and output data (for a curve: x beside a column of ones, as in
        # NumPy), in the run's dtype and on its device
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)
        # Randomly initialized weights
        self.weights = {"w1": problem.tensor(problem.w1), "w2": problem.tensor(problem.w2)}
        self.learning_rate = cfg.lr

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]

        # Forward pass: compute predicted y
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)

        # Compute the loss
        loss = (y_pred - y).pow(2).sum().item()

        # Backprop to compute gradients of w1 and w2 with respect to the loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        # MISTAKE: the ReLU's mask is missing here (grad_h[h < 0] = 0)
        grad_w1 = x.t().mm(grad_h)

        # Update weights using gradient descent
        w1 -= self.learning_rate * grad_w1
        w2 -= self.learning_rate * grad_w2

        self.grads = {"w1": grad_w1, "w2": grad_w2}
        return loss
