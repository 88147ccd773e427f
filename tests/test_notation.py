"""The maths on the walk says what each style's code computes: its mask, its names, its lines.

Each style's own source is read here: which mask its ReLU's backward computes (``clamp(min=0)``
and ``grad_h[h < 0] = 0`` pass h = 0, so [h ≥ 0]; ``nn.ReLU`` does not, so [h > 0]), and which
line made each node; the step's graph must say the same.
"""

from __future__ import annotations

import re

import pytest
from conftest import SMALL

from playground.config import STYLES, Config
from playground.inspection.step import inspect_backprop
from playground.styles import style_info
from playground.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GENERIC = re.compile(r"\\partial \{?[ABCd]\}?\}|\bC = A|W \\text|\\partial out")


def graph_of(style: str, mistake: str = "none"):
    trainer = Trainer(Config.for_style(style, mistake=mistake, threads=1, dtype="float64", **SMALL))
    trainer.run(1)
    return inspect_backprop(trainer, twin=False).graph


def mask_of(source: str) -> str:
    """The mask a style's code computes for its ReLU's backward, read from the code."""
    if "torch.nn.ReLU()" in source:
        return r" > 0]"  # relu's backward passes where its output is above 0
    assert "clamp(min=0)" in source or "< 0] = 0" in source
    return r"\geq 0]"  # clamp(min=0) and x[x < 0] = 0 pass the gradient at 0


def equations(graph) -> list[str]:
    return [eq for node in graph.nodes.values() for eq in (node.equation, node.back_equation) if eq]


@pytest.mark.parametrize("style", STYLES)
def test_the_mask_is_the_one_the_code_computes(style):
    source = style_info(style).source()
    wanted = mask_of(source)
    other = r"\geq 0]" if wanted == r" > 0]" else r" > 0]"
    masks = [eq for eq in equations(graph_of(style)) if r"\odot [" in eq]
    assert masks, style
    for eq in masks:
        assert wanted in eq and other not in eq, eq


@pytest.mark.parametrize("style", STYLES)
def test_the_equations_use_the_tutorials_names(style):
    graph = graph_of(style)
    for eq in equations(graph):
        assert not GENERIC.search(eq), eq
    if graph.source == "autograd":
        # The last product reads h_relu and the second weight, and makes y-hat.
        last = [n for n in graph.nodes.values() if n.value == "y_pred"]
        assert len(last) == 1 and r"\hat y = h_{relu" in last[0].equation and "W_" in last[0].equation
        assert r"\frac{\partial L}{\partial {h_{relu" in last[0].back_equation
        for node in graph.nodes.values():
            if node.back_shapes and " goes to " in node.back_shapes:
                assert " from " not in node.back_shapes, node.back_shapes


@pytest.mark.parametrize("style", [s for s in STYLES if s not in ("numpy", "tensor")])
def test_each_backward_node_is_tied_to_the_forward_line_that_made_it(style):
    graph, lines = graph_of(style), style_info(style).source().splitlines()
    backward_line = next(i for i, line in enumerate(lines, start=1) if "loss.backward()" in line.split("#")[0])
    for node_id in graph.backward:
        node = graph.nodes[node_id]
        stop = graph.lines("backward", node_id)
        assert set(node.lines) <= set(stop), node_id  # the forward line that made it...
        if node_id.startswith("MyReLUBackward"):  # ... and its own backward's lines
            assert set(node.back_lines) <= set(stop) and "return grad_input" in lines[node.back_lines[-1] - 1]
        else:  # ... and loss.backward()
            assert backward_line in stop, node_id
        for number in node.lines:
            assert lines[number - 1].strip() in node.code.splitlines(), (node_id, number)


def test_made_by_quotes_every_line_it_names():
    graph = graph_of("numpy")
    grad_h = graph.nodes["grad_h"]
    assert len(grad_h.lines) == 2 and grad_h.code.splitlines() == ["grad_h = grad_h_relu.copy()", "grad_h[h < 0] = 0"]
