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
        r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \odot [h \geq 0]",
        [],
    ),
    "grad_w1": (
        r"\frac{\partial L}{\partial W_1} = x^\top\,\frac{\partial L}{\partial h}",
        [("x", True), ("grad_h", False)],
    ),
}


def _d(symbol: str) -> str:
    """The derivative of the loss by ``symbol``: dL/d(symbol)."""
    return rf"\frac{{\partial L}}{{\partial {{{symbol}}}}}"


def _t(symbol: str) -> str:
    """``symbol`` transposed (a transposed transpose is the symbol itself)."""
    return symbol.removesuffix(r"^\top") if symbol.endswith(r"^\top") else rf"{{{symbol}}}^\top"


def autograd_maths(kind: str, out: str, operands: list[str | None], masked: bool = True) -> tuple[str, str]:
    """What an autograd node of ``kind`` computed forward, and the chain rule it runs backward, in
    the tutorial's names: ``out`` is the symbol of the value it made, ``operands`` those of its
    inputs in autograd's order (None for an input that gets no gradient: the data). ``masked``: a
    custom Function's backward writes a mask (a mistake's does not)."""
    names = [o for o in operands]
    grads = [o for o in operands if o is not None]  # where the gradient goes
    if kind == "MmBackward0":
        a, b = (n or "x" for n in names)
        terms = []
        if names[0] is not None:
            terms.append(rf"{_d(a)} = {_d(out)}\,{_t(b)}")
        if names[1] is not None:
            terms.append(rf"{_d(b)} = {_t(a)}\,{_d(out)}")
        return rf"{out} = {a}\,{b}", r",\quad ".join(terms)
    if kind == "AddmmBackward0":
        bias, a, weight_t = names
        a = a or "x"
        weight = _t(weight_t or "W")
        terms = [rf"{_d(a)} = {_d(out)}\,{weight}"] if names[1] is not None else []
        terms.append(rf"{_d(weight_t)} = {_t(a)}\,{_d(out)}")
        terms.append(rf"{_d(bias)} = \sum_{{rows}} {_d(out)}")
        return rf"{out} = {a}\,{weight_t} + {bias}", r",\quad ".join(terms)
    if kind == "TBackward0":
        (weight,) = names
        return out, rf"{_d(weight)} = \left({_d(out)}\right)^\top"
    if kind in ("ClampBackward1", "ReluBackward0", "custom"):
        (h,) = (n or "h" for n in names)
        if kind == "ReluBackward0":  # torch's relu passes the gradient where its output is above 0
            return rf"{out} = \mathrm{{relu}}({h})", rf"{_d(h)} = {_d(out)} \odot [{h} > 0]"
        forward = rf"{out} = \max({h},\ 0)"
        backward = rf"{_d(h)} = {_d(out)} \odot [{h} \geq 0]"
        if kind == "custom":
            forward, backward = rf"\text{{forward()}}: {forward}", rf"\text{{backward()}}: {backward}"
            if not masked:
                backward = (
                    rf"\text{{backward()}}: {_d(h)} = {_d(out)} \quad \text{{(no mask: wrong where }} {h} < 0\text{{)}}"
                )
        return forward, backward
    if kind == "SubBackward0":
        return rf"{out}", rf"{_d(grads[0])} = {_d(out)}" if grads else ""
    if kind == "PowBackward0":
        (d,) = grads or [""]
        return rf"{out}", rf"{_d(d)} = 2\,({d}) \odot {_d(out)}"
    if kind == "SumBackward0":
        (d,) = grads or [""]
        return rf"L = \sum {d}", rf"{_d(d)} = 1 \text{{ for every entry}}"
    if kind == "MseLossBackward0":
        (y_pred,) = grads or [r"\hat y"]
        return rf"L = \sum ({y_pred} - y)^2", rf"{_d(y_pred)} = 2\,({y_pred} - y)"
    if kind == "AccumulateGrad":
        return rf"{out} \text{{ (a leaf: a weight)}}", rf"{out}.\mathrm{{grad}} \mathrel{{+}}= {_d(out)}"
    return "", ""


#: A hand-written grad_h that no line masks (a mistake).
UNMASKED_GRAD_H = r"\frac{\partial L}{\partial h} = \frac{\partial L}{\partial h_{relu}} \quad" + (
    r"\text{(no mask: wrong where } h < 0\text{)}"
)


def plain(symbol: str) -> str:
    """A symbol of the maths as the code writes the value: \\hat y as y_pred, h_{relu} as h_relu."""
    text = symbol.replace(r"\hat y", "y_pred").replace("h_{relu,", "h_relu_").replace("h_{relu}", "h_relu")
    return text.replace(r"^\top", ".T").replace("{", "").replace("}", "")


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
