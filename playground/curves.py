"""The curves a network can visibly learn: one input x on [-pi, pi], one output y = f(x).

The data setting ``random`` is the tutorial's data, drawn in ``problem.py``. Every other
data set is a curve, one entry of ``CURVES``: N training points with x drawn uniformly on
[-pi, pi] (sorted, so the step inspector's first numbers read left to right) and y = f(x), plus
noise where the entry has some; the fit chart draws the curve itself on a fine grid.

NumPy only, from a generator stream of its own (``RandomState([seed, 7])``, as ``problem.py``
draws the rest): ``problem.py`` hands these points to the styles, and the app's server, which
never imports torch, draws the same points in the fit chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LOW, HIGH = -math.pi, math.pi
GRID_POINTS = 201  # where the fit chart evaluates the target and the network's prediction


@dataclass(frozen=True)
class Curve:
    """A data set that is a curve: its name, how the sidebar shows it, its y = f(x), the noise
    added to each point's y, and what it teaches (the page shows it under the fit chart)."""

    name: str
    label: str
    target: Callable[[np.ndarray], np.ndarray]
    lesson: str
    noise: float = 0.0  # the standard deviation of the noise added to each point's y


#: The curves, each one entry: the data setting's choices after "random" come from here.
CURVES = {
    c.name: c
    for c in (
        Curve(
            "sin",
            "sin: y = sin(x)",
            np.sin,
            "The target of PyTorch's current tutorial. Each hidden unit adds one kink to the line; training "
            "moves the kinks and the slopes between them until the line follows the curve.",
        ),
        Curve(
            "abs",
            "abs: y = |x|, one kink",
            np.abs,
            "A single kink at 0: two ReLU units could draw it exactly, yet all of them share the work.",
        ),
        Curve(
            "step",
            "step: a jump at x = 0",
            lambda x: (x >= 0).astype(np.float64),
            "A jump: ReLUs are continuous, so the line can only ramp up steeply between the two points "
            "beside x = 0, and most of the loss that is left sits there.",
        ),
        Curve(
            "noisy_sin",
            "noisy_sin: sin(x) plus noise",
            np.sin,
            "Points scattered around sin(x). Fit them longer with Adam (optim), a large H (1000) and "
            "5000 steps, and the line starts to chase the noise: the loss falls below what the noise alone "
            "costs (5.8 for 64 points) while the line moves away from the sine (overfitting).",
            noise=0.3,
        ),
    )
}


def target(data: str, x: np.ndarray) -> np.ndarray:
    """The curve ``data`` without noise, at ``x``."""
    if data not in CURVES:
        raise ValueError(f"data: {data!r} is no curve")
    return CURVES[data].target(np.asarray(x, dtype=np.float64))


def points(data: str, n: int, seed: int, legacy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` training points of curve ``data`` for ``seed``: x and y, float64, shape (n,).
    ``legacy``: the points of run files of version 2 and before (``problem.TorchDraws``)."""
    rng = np.random.Generator(np.random.PCG64([seed, 7])) if legacy else np.random.RandomState([seed, 7])
    x = np.sort(rng.uniform(LOW, HIGH, n))
    y = target(data, x)
    if CURVES[data].noise:
        y = y + CURVES[data].noise * rng.standard_normal(n)
    return x, y


def grid() -> np.ndarray:
    """Where the fit chart evaluates the curve and the network: evenly over [-pi, pi]."""
    return np.linspace(LOW, HIGH, GRID_POINTS)
