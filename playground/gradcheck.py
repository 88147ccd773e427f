"""Is this backprop right? The inspected step's gradients against two references, in float64.

    check = gradient_check(weights_before, gradients, x, y, depth, dtype, seed)
    check["verdict"]      # "matches", or "does not match: look at ..."
    check["rows"]         # per weight: the largest relative error against each reference

For every weight, the gradient the style computed is compared with

- autograd on the same forward pass, in float64: every entry, the largest difference over the
  largest |gradient| (the two differ only in summation order where the maths is the same);
- central finite differences of the loss, (L(w + e) - L(w - e)) / 2e, on ``SAMPLES`` entries of
  each weight drawn at random among its larger gradients (float64, NumPy), the step
  e shrunk until it crosses no ReLU kink (two steps agree).

The forward pass is the network's, whatever the style: two layers without biases (the first
cells), two ``nn.Linear`` layers, or DynamicNet's with the depth the step drew. Cost: one
forward and backward pass, and two forward passes per sampled entry.
"""

from __future__ import annotations

import numpy as np

SAMPLES = 5  # entries of each weight checked by finite differences
#: The finite difference's first step, relative to the weight (at least this absolute). Between two
#: ReLU kinks the loss along one weight is a polynomial (a quadratic for a layer used once), which a
#: central difference gets nearly exactly; a step that crosses a kink does not. So the step shrinks
#: by ``SHRINK`` until two steps agree within what rounding allows, at most ``TRIES`` times.
STEP = 1e-4
SHRINK = 8.0
TRIES = 5
ROUNDING = 4 * 2.0**-52  # float64's relative rounding, with room: a difference of two losses rounds by |L| times it
#: A gradient matches when both errors are at most this: float64 rounds at 1e-16, float32 at 1e-7.
TOLERANCE = {"float64": 1e-6, "float32": 1e-3}


def _layers(params: list[np.ndarray], depth: int | None) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The network's layers in the order they run: (weight, bias or None)."""
    if len(params) == 2:  # x.mm(w1).clamp(min=0).mm(w2): weights (in, out), no biases
        return [(params[0].T, None), (params[1].T, None)]
    layers = [(params[i], params[i + 1]) for i in range(0, len(params), 2)]
    if len(layers) == 3:  # DynamicNet: the middle layer as many times as the step drew
        return [layers[0], *[layers[1]] * (depth or 0), layers[2]]
    return layers


def loss_of(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, depth: int | None) -> float:
    """The summed squared error of the network with ``params`` (float64, NumPy)."""
    h = x
    layers = _layers(params, depth)
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight.T + (0.0 if bias is None else bias)
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return float(np.square(h - y).sum())


#: The hand-written backward pass's gradients of the values in between, in the order it makes them.
BETWEEN = ("grad_y_pred", "grad_h_relu", "grad_h")


def autograd_gradients(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, depth: int | None
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """The gradients of ``loss_of`` by autograd, in float64: of each weight, and for a network of two
    layers of the values in between (``BETWEEN``: of y_pred, h_relu and h)."""
    import torch

    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    h = torch.tensor(x, dtype=torch.float64)
    layers = _layers(tensors, depth)
    between = []  # h, h_relu, ... y_pred: each layer's output, and its ReLU's
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight.T + (0.0 if bias is None else bias)
        between.append(h)
        if i < len(layers) - 1:
            h = h.clamp(min=0)
            between.append(h)
    for value in between:
        value.retain_grad()
    loss = (h - torch.tensor(y, dtype=torch.float64)).pow(2).sum()
    loss.backward()
    weights = [np.zeros_like(p) if t.grad is None else t.grad.numpy() for p, t in zip(params, tensors, strict=True)]
    named = dict(zip(BETWEEN, [v.grad.numpy() for v in reversed(between)], strict=True)) if len(between) == 3 else {}
    return weights, named


def _off(ours: np.ndarray, expected: np.ndarray) -> bool:
    """Whether ``ours`` differs from ``expected`` by more than a float32 rounding of its largest entry."""
    scale = float(np.abs(expected).max()) or 1.0
    return float(np.abs(np.asarray(ours, dtype=np.float64) - expected).max()) / scale > TOLERANCE["float32"]


def _finite_difference(params, index: int, entry: tuple, x, y, depth, loss: float) -> float:
    """The loss's derivative along one entry: central differences, the step shrunk until two agree
    within their rounding (``loss``: the loss here, which sets it); else the pair that agreed best."""
    values = [p.copy() for p in params]
    w = values[index]
    original = w[entry]

    def central(step: float) -> float:
        w[entry] = original + step
        up = loss_of(values, x, y, depth)
        w[entry] = original - step
        down = loss_of(values, x, y, depth)
        w[entry] = original
        return (up - down) / (2 * step)

    step = STEP * max(1.0, abs(float(original)))
    estimate = central(step)
    best = (float("inf"), estimate)
    for _ in range(TRIES):
        step /= SHRINK
        finer = central(step)
        apart = abs(finer - estimate)
        if apart <= ROUNDING * abs(loss) / step + 1e-10 * abs(estimate):
            return estimate  # the larger step of the two: it rounds less
        best = min(best, (apart, estimate))
        estimate = finer
    return best[1]


def gradient_check(
    weights: dict[str, np.ndarray],
    gradients: dict[str, np.ndarray | None],
    x: np.ndarray,
    y: np.ndarray,
    depth: int | None,
    dtype: str,
    seed: int = 0,
    made_by: dict[str, str] | None = None,
    between: dict[str, np.ndarray] | None = None,
) -> dict:
    """Check the style's ``gradients`` of the weights it had before the step (``weights``, in the
    order ``parameters()`` gives them) on data ``x``, ``y``. ``made_by``: the graph's node that
    made each weight's gradient; ``between``: a hand-written backward pass's gradients of the
    values in between (``BETWEEN``), the first of them that is off named in the verdict."""
    names = list(weights)
    params = [np.asarray(weights[n], dtype=np.float64) for n in names]
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    reference, expected = autograd_gradients(params, x, y, depth)
    first_wrong = next(
        (n for n in BETWEEN if n in (between or {}) and n in expected and _off(between[n], expected[n])), ""
    )
    loss = loss_of(params, x, y, depth)
    tolerance = TOLERANCE.get(dtype, TOLERANCE["float32"])
    rng = np.random.RandomState(seed)
    rows = []
    for index, (name, ref) in enumerate(zip(names, reference, strict=True)):
        ours = gradients.get(name)
        ours = np.zeros_like(ref) if ours is None else np.asarray(ours, dtype=np.float64)
        scale = float(np.abs(ref).max()) or 1.0
        autograd_error = float(np.abs(ours - ref).max()) / scale
        large = np.abs(ref) >= 0.1 * scale  # a small entry's difference quotient is mostly rounding
        candidates = np.argwhere(large) if np.any(large) else np.argwhere(np.ones_like(ref, dtype=bool))
        picked = candidates[rng.choice(len(candidates), size=min(SAMPLES, len(candidates)), replace=False)]
        fd_error = 0.0
        for entry in map(tuple, picked):
            numeric = _finite_difference(params, index, entry, x, y, depth, loss)
            fd_error = max(
                fd_error, abs(float(ours[entry]) - numeric) / max(abs(numeric), abs(float(ours[entry])), 1e-8 * scale)
            )
        matches = autograd_error <= tolerance and fd_error <= tolerance
        rows.append(
            {
                "weight": name,
                "autograd": autograd_error,
                "finite_differences": fd_error,
                "entries": len(picked),
                "matches": matches,
                "made_by": (made_by or {}).get(name, ""),
            }
        )
    wrong = [row for row in rows if not row["matches"]]
    for row in wrong if first_wrong else ():
        row["made_by"] += f", from {first_wrong}: the first gradient that is off"
    if not wrong:
        verdict = "matches"
    else:
        where = "; ".join(f"{r['weight']}" + (f" (made by {r['made_by']})" if r["made_by"] else "") for r in wrong)
        verdict = f"does not match: look at {where}"
        if len(wrong) == len(rows) and len(rows) > 1:
            verdict += ". Every weight is off: are earlier steps' gradients still in .grad?"
    return {"verdict": verdict, "rows": rows, "tolerance": tolerance, "samples": SAMPLES, "dtype": dtype}
