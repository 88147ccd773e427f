"""Is this backprop right? The inspected step's gradients against two references, in float64.

    check = gradient_check(weights_before, gradients, x, y, layers, depth, dtype, seed)
    check["verdict"]      # "matches", or "does not match: look at ..."
    check["rows"]         # per weight: the largest relative error against each reference

For every weight, the gradient the style computed is compared with

- autograd on the same forward pass, in float64: every entry, the largest difference over the
  largest |gradient| (the two differ only in summation order where the maths is the same);
- central finite differences of the loss, (L(w + e) - L(w - e)) / 2e, on ``SAMPLES`` entries of
  each weight drawn at random among its larger gradients (float64, NumPy), the step
  e shrunk until it crosses no ReLU kink (two steps agree).

The forward pass is the network's, as its registry entry describes it (``StyleInfo.layers``):
two layers without biases (the first cells), two ``nn.Linear`` layers, or DynamicNet's with its
middle layer as many times as the step drew. Cost: one forward and backward pass, and two
forward passes per sampled entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..styles.contract import Layer

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


def _layers(params: dict, layers: Sequence[Layer], depth: int | None) -> list[tuple]:
    """The network's layers in the order they run, each (weight as (out, in), bias or None), from
    the style's ``layers`` and the weights by name."""
    out = []
    for layer in layers:
        if layer.bias is None:  # x.mm(w): w is (in, out)
            step = (params[layer.weight].T, None)
        else:
            step = (params[layer.weight], params[layer.bias])
        out += [step] * ((depth or 0) if layer.repeated else 1)
    return out


def loss_of(params: dict, x: np.ndarray, y: np.ndarray, layers: Sequence[Layer], depth: int | None) -> float:
    """The summed squared error of the network with ``params`` (float64, NumPy, by name)."""
    h = x
    applied = _layers(params, layers, depth)
    for i, (weight, bias) in enumerate(applied):
        h = h @ weight.T + (0.0 if bias is None else bias)
        if i < len(applied) - 1:
            h = np.maximum(h, 0.0)
    return float(np.square(h - y).sum())


#: The hand-written backward pass's gradients of the values in between, in the order it makes them.
BETWEEN = ("grad_y_pred", "grad_h_relu", "grad_h")


def autograd_gradients(
    params: dict, x: np.ndarray, y: np.ndarray, layers: Sequence[Layer], depth: int | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The gradients of ``loss_of`` by autograd, in float64: of each weight, and for a network of two
    layers of the values in between (``BETWEEN``: of y_pred, h_relu and h)."""
    import torch

    tensors = {name: torch.tensor(p, dtype=torch.float64, requires_grad=True) for name, p in params.items()}
    h = torch.tensor(x, dtype=torch.float64)
    applied = _layers(tensors, layers, depth)
    between = []  # h, h_relu, ... y_pred: each layer's output, and its ReLU's
    for i, (weight, bias) in enumerate(applied):
        h = h @ weight.T + (0.0 if bias is None else bias)
        between.append(h)
        if i < len(applied) - 1:
            h = h.clamp(min=0)
            between.append(h)
    for value in between:
        value.retain_grad()
    loss = (h - torch.tensor(y, dtype=torch.float64)).pow(2).sum()
    loss.backward()
    weights = {
        name: np.zeros_like(p) if tensors[name].grad is None else tensors[name].grad.numpy()
        for name, p in params.items()
    }
    named = dict(zip(BETWEEN, [v.grad.numpy() for v in reversed(between)], strict=True)) if len(between) == 3 else {}
    return weights, named


def _forward(params: dict, x: np.ndarray, layers: Sequence[Layer], depth: int | None) -> tuple[list, list, list]:
    """The network's forward pass in NumPy, in the dtype of ``params``: the layers as they run
    (DynamicNet's middle one ``depth`` times), each one's input, and its output before the ReLU."""
    applied = [layer for layer in layers for _ in range((depth or 0) if layer.repeated else 1)]
    inputs, made = [], []
    h = x
    for i, layer in enumerate(applied):
        inputs.append(h)
        w = params[layer.weight]
        h = h @ w if layer.bias is None else h @ w.T + params[layer.bias]
        made.append(h)
        if i < len(applied) - 1:
            h = np.maximum(h, 0)
    return applied, inputs, made


def numpy_gradients(
    params: dict, x: np.ndarray, y: np.ndarray, layers: Sequence[Layer], depth: int | None
) -> dict[str, np.ndarray]:
    """The gradients of ``loss_of`` of each weight, the chain rule written out in NumPy: the same
    maths as ``autograd_gradients`` (a test holds them equal), without torch, for the live check
    beside the metrics (``live_check``)."""
    applied, inputs, made = _forward(params, x, layers, depth)
    grads: dict[str, np.ndarray] = {}

    def add(name: str, gradient: np.ndarray) -> None:  # a layer used again (DynamicNet's) adds up
        grads[name] = gradient + grads[name] if name in grads else gradient

    grad = 2.0 * (made[-1] - y)
    for i in reversed(range(len(applied))):
        layer, w = applied[i], params[applied[i].weight]
        if i < len(applied) - 1:
            grad[made[i] < 0] = 0  # the ReLU's mask, [h >= 0]: clamp(min=0) passes h = 0
        if layer.bias is None:  # h @ w
            add(layer.weight, inputs[i].T @ grad)
        else:  # h @ W.T + b
            add(layer.weight, grad.T @ inputs[i])
            add(layer.bias, grad.sum(axis=0))
        if i:  # the first layer's input is the data: no gradient goes to it
            grad = grad @ (w.T if layer.bias is None else w)
    return {name: grads[name] if name in grads else np.zeros_like(p) for name, p in params.items()}  # a layer not run


#: The live check's least tolerance on a weight's relative error: float32's rounding of a step far
#: from the loss's floor, well below what a wrong backward pass is off by (no_relu_mask: w1 by 0.76).
LIVE_TOLERANCE = TOLERANCE["float32"]
#: Near the loss's floor a gradient is mostly rounding: (y_pred - y) cancels, and float32's
#: gradients there differ from float64's by as much as they are. A check tells only while the
#: rounding it estimates is at most this; a weight is off when its error is over ten times that.
CONCLUSIVE = 0.03


def live_check(
    weights: dict, gradients: dict, x, y, layers: Sequence[Layer], depth: int | None, step: int, dtype: str
) -> dict:
    """The check beside the metrics, on a step of a run in training: each weight's gradient as the
    style computed it (``gradients``, from ``weights`` as they were before the step) against the
    chain rule in float64 (``numpy_gradients``), its largest relative error. Cheaper than
    ``gradient_check``: no autograd and no finite differences; one forward and backward pass in
    float64, and a second in float32 only where a gradient is off by more than ``LIVE_TOLERANCE``.

    That second pass estimates what rounding alone does to this step's gradients (scaled to
    ``dtype``'s precision; near the loss's floor, where y_pred - y cancels, it is as much as they
    are). ``conclusive`` is whether it is small enough to tell a wrong gradient from rounding
    (``CONCLUSIVE``), and ``off`` the weights whose error is beyond it."""
    params = {name: np.asarray(w, dtype=np.float64) for name, w in weights.items()}
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    reference = numpy_gradients(params, x, y, layers, depth)
    errors = {}
    for name, ref in reference.items():
        ours = gradients.get(name)
        errors[name] = relative_error(np.zeros_like(ref) if ours is None else ours, ref)
    rounding = None  # not needed where every gradient is within the least tolerance
    tolerance = LIVE_TOLERANCE
    if not max(errors.values(), default=0.0) <= LIVE_TOLERANCE:
        single = {name: p.astype(np.float32) for name, p in params.items()}
        rounded = numpy_gradients(single, x.astype(np.float32), y.astype(np.float32), layers, depth)
        scale = float(np.finfo(dtype).eps / np.finfo(np.float32).eps)
        rounding = scale * max(relative_error(rounded[name], ref) for name, ref in reference.items())
        tolerance = max(LIVE_TOLERANCE, 10 * rounding)
    return {
        "step": step,
        "errors": errors,
        "off": {name: error for name, error in errors.items() if not error <= tolerance},
        "tolerance": tolerance,
        "rounding": rounding,
        "conclusive": rounding is None or rounding <= CONCLUSIVE,
    }


def relative_error(ours, expected: np.ndarray) -> float:
    """The largest difference of ``ours`` from ``expected``, over ``expected``'s largest |entry|."""
    scale = float(max(expected.max(), -expected.min())) or 1.0
    difference = np.subtract(ours, expected, dtype=np.float64)  # one array made, not three
    return float(np.abs(difference, out=difference).max()) / scale


def _first_off(between: dict, expected: dict) -> tuple[str, float]:
    """The first of the values in between (``BETWEEN``, in the order the backward pass makes them)
    whose gradient is off by more than a float32 rounding, and by how much; ("", 0) for none."""
    for name in BETWEEN:
        if name in between and name in expected:
            error = relative_error(between[name], expected[name])
            if not error <= TOLERANCE["float32"]:
                return name, error
    return "", 0.0


def _finite_difference(params: dict, name: str, entry: tuple, data: tuple, loss: float) -> float:
    """The loss's derivative along one entry of weight ``name``: central differences, the step shrunk
    until two agree within their rounding (``loss``: the loss here, which sets it); else the pair
    that agreed best. ``data``: (x, y, layers, depth), as ``loss_of`` takes them."""
    values = {n: p.copy() for n, p in params.items()}
    w = values[name]
    original = w[entry]

    def central(step: float) -> float:
        w[entry] = original + step
        up = loss_of(values, *data)
        w[entry] = original - step
        down = loss_of(values, *data)
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


def _sampled(ref: np.ndarray, rng: np.random.RandomState) -> list[tuple]:
    """Up to ``SAMPLES`` entries of a weight, drawn among its larger gradients (a small entry's
    difference quotient is mostly rounding)."""
    scale = float(np.abs(ref).max()) or 1.0
    large = np.abs(ref) >= 0.1 * scale
    candidates = np.argwhere(large) if np.any(large) else np.argwhere(np.ones_like(ref, dtype=bool))
    picked = candidates[rng.choice(len(candidates), size=min(SAMPLES, len(candidates)), replace=False)]
    return [tuple(entry) for entry in picked]


def _row(name: str, ours, ref: np.ndarray, params: dict, data: tuple, loss: float, rng, tolerance: float) -> dict:
    """One weight's check: its largest relative error against autograd and against finite differences."""
    ours = np.zeros_like(ref) if ours is None else np.asarray(ours, dtype=np.float64)
    scale = float(np.abs(ref).max()) or 1.0
    autograd_error = float(np.abs(ours - ref).max()) / scale
    picked = _sampled(ref, rng)
    fd_error = 0.0
    for entry in picked:
        numeric = _finite_difference(params, name, entry, data, loss)
        ours_here = float(ours[entry])
        fd_error = max(fd_error, abs(ours_here - numeric) / max(abs(numeric), abs(ours_here), 1e-8 * scale))
    return {
        "weight": name,
        "autograd": autograd_error,
        "finite_differences": fd_error,
        "entries": len(picked),
        "matches": autograd_error <= tolerance and fd_error <= tolerance,
    }


def gradient_check(
    weights: dict[str, np.ndarray],
    gradients: dict[str, np.ndarray | None],
    x: np.ndarray,
    y: np.ndarray,
    layers: Sequence[Layer],
    depth: int | None,
    dtype: str,
    seed: int = 0,
    made_by: dict[str, str] | None = None,
    between: dict[str, np.ndarray] | None = None,
) -> dict:
    """Check the style's ``gradients`` of the weights it had before the step (``weights``, by the
    names ``parameters()`` gives them) on data ``x``, ``y``, for the network ``layers`` describe
    (``StyleInfo.layers``). ``between``: the step's gradients of the values in between
    (``BETWEEN``: a hand-written backward pass's, or what autograd's nodes received); the first of
    them that is off is where the verdict points. ``made_by``: what made each gradient, of the
    weights and of the values in between (its lines, or its node)."""
    params = {name: np.asarray(w, dtype=np.float64) for name, w in weights.items()}
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    reference, expected = autograd_gradients(params, x, y, layers, depth)
    first_wrong = _first_off(between or {}, expected)
    data = (x, y, layers, depth)
    loss = loss_of(params, *data)
    tolerance = TOLERANCE.get(dtype, TOLERANCE["float32"])
    rng = np.random.RandomState(seed)
    rows = []
    for name, ref in reference.items():
        row = _row(name, gradients.get(name), ref, params, data, loss, rng, tolerance)
        rows.append({**row, "made_by": (made_by or {}).get(name, "")})
    return {
        "verdict": _verdict(rows, first_wrong, made_by or {}),
        "first_off": {
            "name": first_wrong[0],
            "off_by": first_wrong[1],
            "made_by": (made_by or {}).get(first_wrong[0], ""),
        },
        "rows": rows,
        "tolerance": tolerance,
        "samples": SAMPLES,
        "dtype": dtype,
    }


def _verdict(rows: list[dict], first_wrong: tuple[str, float], made_by: dict[str, str]) -> str:
    """ "matches", or where the first wrong gradient was made and how far off it is, then each
    weight that is off."""
    wrong = [row for row in rows if not row["matches"]]
    if not wrong:
        return "matches"
    weights = ", ".join(f"{r['weight']} (off by {r['autograd']:.2g})" for r in wrong)
    name, error = first_wrong
    if name:
        made = f", made by {made_by[name]}" if made_by.get(name) else ""
        return (
            f"does not match: {name} is the first gradient that is off{made}: off by {error:.2g} of its "
            f"largest entry. From it, the gradient of {weights}"
        )
    where = "; ".join(
        f"{r['weight']} off by {r['autograd']:.2g}" + (f" (made by {r['made_by']})" if r["made_by"] else "")
        for r in wrong
    )
    verdict = f"does not match: look at {where}"
    if len(wrong) == len(rows) and len(rows) > 1:
        verdict += (
            ". Every weight is off, yet what flowed into them is right: are earlier steps' gradients still in .grad?"
        )
    return verdict
