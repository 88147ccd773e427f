"""The chain rule as the page writes it: LaTeX for each hand-written line and each autograd node.

    chain_rule(source)     # each backward line of a hand-written step: (line, code, LaTeX, shapes)
    HAND_WRITTEN["grad_w2"]   # (the equation, its operands for the shapes)

The equations are written once here, in the tutorial's names (``SYMBOLS``); ``graph.py`` puts
them on the nodes of a step's graph, and the code panel beside a hand-written backward pass.
Plain Python: no torch, no NumPy.
"""

from __future__ import annotations

import ast

#: The tutorial's hand-written names: how each reads in the maths, and what each is.
SYMBOLS = {
    "x": "x",
    "y": "y",
    "w1": "W_1",
    "w2": "W_2",
    "h": "h",
    "h_relu": "h_{relu}",
    "y_pred": r"\hat y",
    "loss": "L",
    "grad_y_pred": r"\partial L/\partial \hat y",
    "grad_w2": r"\partial L/\partial W_2",
    "grad_h_relu": r"\partial L/\partial h_{relu}",
    "grad_h": r"\partial L/\partial h",
    "grad_w1": r"\partial L/\partial W_1",
}

#: The chain rule of each hand-written line: the equation, and its operands for the shapes
#: (name, transposed) of a matrix product; an empty list for an elementwise line.
HAND_WRITTEN = {
    "h": (r"h = x\,W_1", [("x", False), ("w1", False)]),
    "h_relu": (r"h_{relu} = \max(h,\ 0)", []),
    "y_pred": (r"\hat y = h_{relu}\,W_2", [("h_relu", False), ("w2", False)]),
    "loss": (r"L = \sum (\hat y - y)^2", []),
    "grad_y_pred": (r"\frac{\partial L}{\partial \hat y} = 2\,(\hat y - y)", []),
    "grad_w2": (
        r"\frac{\partial L}{\partial W_2} = h_{relu}^\top\,\frac{\partial L}{\partial \hat y}",
        [("h_relu", True), ("grad_y_pred", False)],
    ),
    "grad_h_relu": (
        r"\frac{\partial L}{\partial h_{relu}} = \frac{\partial L}{\partial \hat y}\,W_2^\top",
        [("grad_y_pred", False), ("w2", True)],
    ),
    "grad_h": (
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
        [],
    ),
    "grad_w1": (
        r"\frac{\partial L}{\partial W_1} = x^\top\,\frac{\partial L}{\partial h}",
        [("x", True), ("grad_h", False)],
    ),
}

#: What each autograd node computed forward, and what it passes back (the chain rule at that node).
AUTOGRAD = {
    "MmBackward0": (
        r"C = A\,B",
        r"\frac{\partial L}{\partial A} = \frac{\partial L}{\partial C}\,B^\top,\quad"
        r"\frac{\partial L}{\partial B} = A^\top\,\frac{\partial L}{\partial C}",
    ),
    "AddmmBackward0": (
        r"C = A\,W^\top + b",
        r"\frac{\partial L}{\partial A} = \frac{\partial L}{\partial C}\,W,\quad"
        r"\frac{\partial L}{\partial W^\top} = A^\top\,\frac{\partial L}{\partial C},\quad"
        r"\frac{\partial L}{\partial b} = \sum_{rows} \frac{\partial L}{\partial C}",
    ),
    "TBackward0": (r"W^\top", r"\frac{\partial L}{\partial W} = \left(\frac{\partial L}{\partial W^\top}\right)^\top"),
    "ClampBackward1": (
        r"h_{relu} = \max(h,\ 0)",
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
    ),
    "ReluBackward0": (
        r"h_{relu} = \mathrm{relu}(h)",
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h > 0]",
    ),
    "SubBackward0": (
        r"d = \hat y - y",
        r"\frac{\partial L}{\partial \hat y} = \frac{\partial L}{\partial d}",
    ),
    "PowBackward0": (r"d^2", r"\frac{\partial L}{\partial d} = 2\,d \odot \frac{\partial L}{\partial (d^2)}"),
    "SumBackward0": (r"L = \sum d^2", r"\frac{\partial L}{\partial (d^2)} = 1 \text{ for every entry}"),
    "MseLossBackward0": (
        r"L = \sum (\hat y - y)^2",
        r"\frac{\partial L}{\partial \hat y} = 2\,(\hat y - y)",
    ),
    "AccumulateGrad": (
        r"W \text{ (a leaf: a weight)}",
        r"W.\mathrm{grad} \mathrel{+}= \frac{\partial L}{\partial W}",
    ),
}
#: A node of a custom ``torch.autograd.Function``: its own backward method runs.
CUSTOM = (
    r"\text{forward()}: \max(x,\ 0)",
    r"\text{backward()}: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial out} \odot [x \geq 0]",
)
#: The same, where its backward masks nothing (a mistake: ``styles.MISTAKES``).
CUSTOM_UNMASKED = r"\text{backward()}: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial out}" + (
    r"\quad \text{(no mask: wrong where } x < 0\text{)}"
)
#: A hand-written grad_h that no line masks (a mistake).
UNMASKED_GRAD_H = r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \quad" + (
    r"\text{(no mask: wrong where } h < 0\text{)}"
)


def autograd_equations(fn) -> tuple[str, str]:
    """What an autograd node computed forward, and the chain rule it runs backward."""
    if hasattr(fn, "_forward_cls"):
        return CUSTOM
    return AUTOGRAD.get(type(fn).__name__, AUTOGRAD.get(fn.name(), ("", "")))


def reads(expression: ast.AST) -> list[str]:
    """The names an expression reads, in the order they are written, once each."""
    names = sorted((n for n in ast.walk(expression) if isinstance(n, ast.Name)), key=lambda n: n.col_offset)
    return list(dict.fromkeys(n.id for n in names))


def statement(code: str) -> ast.stmt | None:
    """One line of code as a statement; None when it is not one whole statement."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return None
    return body[0] if len(body) == 1 else None


# ------------------------------------------------------------------ the chain rule beside the code

#: The tutorial's sizes by name: each hand-written value's shape, in letters.
SIZES = {
    "x": ("N", "D_in"),
    "y": ("N", "D_out"),
    "w1": ("D_in", "H"),
    "w2": ("H", "D_out"),
    "h": ("N", "H"),
    "h_relu": ("N", "H"),
    "y_pred": ("N", "D_out"),
}


def _letters(name: str) -> tuple[str, ...]:
    return SIZES.get(name.removeprefix("grad_"), ())


def chain_rule(source: str) -> list[tuple[int, str, str, str]]:
    """Each backward line of a hand-written step in ``source``: (line number, code, LaTeX, shapes
    in letters), e.g. ``grad_w2 = h_relu.T.dot(grad_y_pred)`` with
    (H×D_out) = (H×N)(N×D_out)."""
    rows = []
    statements = [statement(line.strip()) for line in source.splitlines()]
    masked = any(isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript) for s in statements)
    for number, line in enumerate(source.splitlines(), start=1):
        parsed = statements[number - 1]
        if not isinstance(parsed, ast.Assign) or not isinstance(parsed.targets[0], ast.Name | ast.Subscript):
            continue
        target = parsed.targets[0]
        name = target.id if isinstance(target, ast.Name) else getattr(target.value, "id", "")
        if not name.startswith("grad_") or name not in HAND_WRITTEN:
            continue
        equation, operands = HAND_WRITTEN[name]
        out = "×".join(_letters(name))
        value = parsed.value
        if isinstance(value, ast.Call) and getattr(value.func, "attr", "") in ("copy", "clone"):
            copied = getattr(value.func.value, "id", "")
            equation = rf"{SYMBOLS[name]} \leftarrow {SYMBOLS.get(copied, copied)} \text{{ (a copy, masked next)}}"
            if not masked:  # no line masks it: what the code computes, not what it should
                equation = UNMASKED_GRAD_H
            rows.append((number, line.strip(), equation, f"({out})"))
            continue
        if isinstance(target, ast.Subscript):
            shapes = f"({out}): zero where h < 0"
        elif operands:
            parts = "".join(f"({'×'.join(_letters(op)[::-1] if t else _letters(op))})" for op, t in operands)
            shapes = f"({out}) = {parts}"
        else:
            shapes = f"({out})"
        rows.append((number, line.strip(), equation, shapes))
    return rows
