"""What changed from the previous cell: each style's file against the one before it."""

from __future__ import annotations

import pytest

from playground.codediff import CONTEXT, MIN_FOLD, Fold, Line, changed, diff, previous, style_diff
from playground.config import STYLES
from playground.styles import STYLES as REGISTRY
from playground.ui.code import diff_html

#: Per style: lines its file adds to the previous cell's, and lines it drops: the step the tutorial takes.
CHANGES = {
    "tensor": (
        [
            "h = x.mm(w1)",
            "h_relu = h.clamp(min=0)",
            "grad_h = grad_h_relu.clone()",
            "self.x = problem.tensor(problem.x)",
        ],
        ["import numpy as np", "h_relu = np.maximum(h, 0)", "grad_h = grad_h_relu.copy()"],
    ),
    "autograd": (
        ["loss.backward()", "with torch.no_grad():", "w1 -= self.learning_rate * w1.grad"],
        ["grad_y_pred = 2.0 * (y_pred - y)", "grad_h[h < 0] = 0", "w1 -= self.learning_rate * grad_w1"],
    ),
    "function": (
        ["class MyReLU(torch.autograd.Function):", "def backward(ctx, grad_output):", "relu = MyReLU.apply"],
        ["y_pred = x.mm(w1).clamp(min=0).mm(w2)"],
    ),
    "nn": (
        ["self.model = torch.nn.Sequential(", "torch.nn.ReLU(),", "param -= self.learning_rate * param.grad"],
        ["class MyReLU(torch.autograd.Function):", "loss = (y_pred - y).pow(2).sum()"],
    ),
    "optim": (
        ["self.optimizer = make_optimizer(cfg, self.model.parameters())", "optimizer.step()"],
        ["param -= self.learning_rate * param.grad", "model.zero_grad()"],
    ),
    "module": (
        ["class TwoLayerNet(torch.nn.Module):", "def forward(self, x):", "h_relu = self.linear1(x).clamp(min=0)"],
        ["self.model = torch.nn.Sequential("],
    ),
    "dynamic": (
        ["class DynamicNet(torch.nn.Module):", "for _ in range(self.depth):", "import random"],
        ["class TwoLayerNet(torch.nn.Module):"],
    ),
}


def unfold(parts) -> list[Line]:
    lines = []
    for part in parts:
        lines += list(part.lines) if isinstance(part, Fold) else [part]
    return lines


def test_the_previous_cell_follows_the_tutorials_order():
    assert STYLES == ("numpy", "tensor", "autograd", "function", "nn", "optim", "module", "dynamic")
    assert previous("numpy") is None and style_diff("numpy") is None
    assert [previous(style) for style in STYLES[1:]] == list(STYLES[:-1])


@pytest.mark.parametrize("style", STYLES[1:])
def test_the_diff_of_each_cell_against_the_previous_one(style):
    old, new = REGISTRY[previous(style)].source(), REGISTRY[style].source()
    parts = style_diff(style)
    lines = unfold(parts)
    # Nothing lost: the unchanged and removed lines are the previous file, the unchanged and added this one.
    assert [line.text for line in lines if line.kind != "added"] == old.splitlines()
    assert [line.text for line in lines if line.kind != "removed"] == new.splitlines()
    assert [line.new for line in lines if line.kind != "removed"] == list(range(1, len(new.splitlines()) + 1))
    added = {line.text.strip() for line in lines if line.kind == "added"}
    removed = {line.text.strip() for line in lines if line.kind == "removed"}
    for text in CHANGES[style][0]:
        assert text in added, f"{style} adds {text!r}"
    for text in CHANGES[style][1]:
        assert text in removed, f"{style} drops {text!r}"
    assert changed(parts) == (
        sum(line.kind == "added" for line in lines),
        sum(line.kind == "removed" for line in lines),
    )
    # Only unchanged lines fold, runs of MIN_FOLD or more, with CONTEXT unchanged lines kept beside each change.
    folds = [i for i, part in enumerate(parts) if isinstance(part, Fold)]
    for i in folds:
        assert len(parts[i].lines) >= MIN_FOLD and all(line.kind == "same" for line in parts[i].lines)
        beside = (parts[i - CONTEXT : i] if i else []) + (parts[i + 1 : i + 1 + CONTEXT] if i < len(parts) - 1 else [])
        assert all(isinstance(p, Line) and p.kind == "same" for p in beside)


def test_folding_keeps_context_beside_each_change():
    old = "\n".join(f"line {i}" for i in range(20))
    new = old.replace("line 10", "line ten")
    parts = diff(old, new, context=2)
    kinds = [p.kind if isinstance(p, Line) else f"fold {len(p.lines)}" for p in parts]
    assert kinds == ["fold 8", "same", "same", "removed", "added", "same", "same", "fold 7"]
    assert [p.text for p in parts[1:3]] == ["line 8", "line 9"]
    assert diff("a\nb", "a\nb") == [Line("same", "a", 1, 1), Line("same", "b", 2, 2)]  # too short to fold


def test_the_page_shows_the_diff_highlighted_and_escaped():
    text = diff_html(diff("x = 1\nif a < b:\n    pass", "x = 2\nif a < b:\n    pass"))
    assert 'class="ln removed"' in text and 'class="ln added"' in text and 'class="ln same"' in text
    assert "if a &lt; b:" in text and "if a < b" not in text
    folded = diff_html(style_diff("tensor"))
    assert "<details" in folded and "unchanged lines</summary>" in folded
