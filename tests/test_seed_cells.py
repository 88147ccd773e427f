"""The tutorial's own cells, run as written, give the engine's loss at every step.

The project starts from a study note of PyTorch's tutorial (shared/seed, beside the
clone). Its seven code cells are read from that file here and executed as written,
with these replacements only:

* every random draw returns the engine's number instead (``playground.problem``):
  ``np.random.randn`` and ``torch.randn`` hand out x, y, w1, w2 in the order the
  cell draws them; ``torch.nn.Linear.reset_parameters`` gives each new layer the
  engine's weights and bias, in construction order (linear1, then DynamicNet's
  middle layer, then linear2); ``random.randint`` returns the depths the engine's
  DynamicNet drew, step by step (the engine rolls its own ``random.Random(seed)``);
* float64 instead of float32: torch's default dtype is float64 while a cell runs
  (the nn cells take the default), and the one line ``dtype = torch.float`` of the
  tensor and autograd cells is read as ``dtype = torch.float64``;
* the loss of every step: ``print`` in the cell's namespace records what the cell
  prints, ``t`` and the loss, and the line ``if t % 100 == 99:`` of the six torch
  cells, which print every 100th step, is read as ``if True:`` (the NumPy cell
  prints every step already). What is printed is untouched: ``loss``,
  ``loss.item()``.

The engine's run of the matching style (same seed, float64, 500 steps) must give
the same loss at every step to 1e-12 relative. Both sides run the same operations
on the same numbers: measured, they agree to the last bit in all seven. Starting
weights rounded to float32 on the way in (the nn.Linear styles' old defect) showed
as 1e-11 to 1e-9 at step 0, growing to 3e-7 to 5e-4 by the end.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest
import torch
from conftest import ROOT

from playground.config import Config
from playground.problem import Linear, make_problem
from playground.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SEED_FILE = ROOT.parent / "shared" / "seed" / "000_e39003121247d4b1.txt"

#: The note's cells in order: the engine style each one is, and a line only that cell has.
CELLS = (
    ("numpy", "import numpy as np"),
    ("tensor", "grad_h = grad_h_relu.clone()"),
    ("autograd", "w1.grad.zero_()"),
    ("nn", "param -= learning_rate * param.grad"),
    ("optim", "torch.optim.Adam(model.parameters(), lr=learning_rate)"),
    ("module", "class TwoLayerNet(torch.nn.Module):"),
    ("dynamic", "class DynamicNet(torch.nn.Module):"),
)
BIAS_FREE = ("numpy", "tensor", "autograd")
STEPS = 500
# One seed costs about 15 s here (2 cores, one torch thread): each of the 14 runs takes
# 0.7 to 1.6 s, and the cells' sizes and 500 steps are theirs, not ours to shrink.
# Two seeds keep the file near 30 s; seed 1 is the one where Adam magnified the old
# float32 start most (5e-4).
SEEDS = (0, 1)
RTOL = 1e-12

_PROMPT = re.compile(r"In \[\d+\]:\s*")
_PRINTED = re.compile(r"\d+ \S+")  # a line the cell printed: "t loss"
_FLOAT32 = re.compile(r"^dtype = torch\.float\b", re.MULTILINE)  # not torch.float64
_EVERY_100TH = re.compile(r"^(\s*)if t % 100 == 99:", re.MULTILINE)


def read_cells(text: str) -> dict[str, str]:
    """The code of each cell: the lines after "In [N]:" up to the first printed loss."""
    lines = text.splitlines()
    cells = []
    for i, line in enumerate(lines):
        if _PROMPT.fullmatch(line):
            end = next(j for j in range(i + 1, len(lines)) if _PRINTED.fullmatch(lines[j]))
            cells.append("\n".join(lines[i + 1 : end]).rstrip() + "\n")
    assert len(cells) == len(CELLS), f"expected {len(CELLS)} code cells, found {len(cells)}"
    for code, (style, marker) in zip(cells, CELLS, strict=True):
        assert marker in code, f"the {style} cell should contain {marker!r}"
    return {style: code for code, (style, _) in zip(cells, CELLS, strict=True)}


@pytest.fixture(scope="module")
def cells() -> dict[str, str]:
    if not SEED_FILE.is_file():
        reason = f"the tutorial's note is not at {SEED_FILE} (shared/ beside the clone)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return read_cells(SEED_FILE.read_text(encoding="utf-8"))


class Draws:
    """The engine's values, handed out in the order the cell asks for them."""

    def __init__(self, what: str, values: list):
        self.what, self.values, self.used = what, list(values), 0

    def next(self, shape=None):
        assert self.used < len(self.values), f"the cell draws more {self.what} than the engine has"
        value = self.values[self.used]
        self.used += 1
        if shape is not None:
            expected = value.weight.shape if isinstance(value, Linear) else value.shape
            assert tuple(shape) == tuple(expected), f"{self.what} #{self.used}: {tuple(shape)}, not {tuple(expected)}"
        return value

    def check_all_used(self) -> None:
        assert self.used == len(self.values), f"the cell drew {self.used} {self.what}, not {len(self.values)}"


def engine_run(style: str, seed: int) -> tuple[np.ndarray, list[int]]:
    """The engine's loss at every step of a float64 run, and DynamicNet's depths."""
    # Statistics and histograms only read the weights; taken at step 0 only, they cost nothing.
    cfg = Config.for_style(style, dtype="float64", seed=seed, steps=STEPS, stats_every=STEPS, hist_every=STEPS)
    trainer = Trainer(cfg)
    losses, depths = [], []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
        if "depth" in row:
            depths.append(row["depth"])
    assert trainer.status == "done"
    return np.array(losses), depths


def run_cell(code: str, style: str, seed: int, depths: list[int], monkeypatch) -> np.ndarray:
    """Execute one cell with the engine's draws, in float64; return its loss at every step."""
    problem = make_problem(Config.for_style(style, dtype="float64", seed=seed))
    if style in BIAS_FREE:
        data = Draws("random arrays", [problem.x, problem.y, problem.w1, problem.w2])
        layers = Draws("nn.Linear layers", [])
    else:
        data = Draws("random arrays", [problem.x, problem.y])
        middle = [problem.middle] if style == "dynamic" else []
        layers = Draws("nn.Linear layers", [problem.linear1, *middle, problem.linear2])
    rolls = Draws("depths", depths)

    def np_randn(*shape):
        return data.next(shape).copy()

    def torch_randn(*size, device=None, dtype=None, requires_grad=False):
        value = torch.from_numpy(data.next(size))
        value = value.to(device=device or "cpu", dtype=dtype or torch.get_default_dtype(), copy=True)
        assert value.dtype == torch.float64, f"the cell asked for {value.dtype}"
        return value.requires_grad_(requires_grad)

    def reset_parameters(layer):
        init = layers.next(layer.weight.shape)
        assert layer.weight.dtype == torch.float64, f"a layer of {layer.weight.dtype}"
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(init.weight))
            layer.bias.copy_(torch.from_numpy(init.bias))

    def randint(a, b):
        assert (a, b) == (0, 3)
        return rolls.next()

    source, replaced = _FLOAT32.subn("dtype = torch.float64", code)
    assert replaced == (1 if style in ("tensor", "autograd") else 0)
    source, replaced = _EVERY_100TH.subn(r"\1if True:", source)
    assert replaced == (0 if style == "numpy" else 1)
    compiled = compile(source, f"<seed cell: {style}>", "exec")
    printed = []  # (t, loss) of every step, as the cell prints them

    def record(t, loss):
        printed.append((t, float(loss)))

    namespace = {"__name__": f"seed_cell_{style}", "print": record}
    with monkeypatch.context() as patch:
        patch.setattr(np.random, "randn", np_randn)
        patch.setattr(torch, "randn", torch_randn)
        patch.setattr(torch.nn.Linear, "reset_parameters", reset_parameters)
        patch.setattr(random, "randint", randint)
        default_dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            exec(compiled, namespace)
        finally:
            torch.set_default_dtype(default_dtype)
    data.check_all_used()
    layers.check_all_used()
    rolls.check_all_used()
    assert [t for t, _ in printed] == list(range(STEPS))
    return np.array([loss for _, loss in printed])


def test_the_note_has_the_seven_cells(cells):
    assert list(cells) == [style for style, _ in CELLS]
    for style, code in cells.items():
        assert "for t in range(500):" in code, style


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("style", [style for style, _ in CELLS])
def test_cell_as_written_gives_the_engines_loss_at_every_step(cells, style, seed, monkeypatch):
    expected, depths = engine_run(style, seed)
    assert len(depths) == (STEPS if style == "dynamic" else 0)
    losses = run_cell(cells[style], style, seed, depths, monkeypatch)
    assert len(losses) == STEPS
    assert expected[-1] < 1e-2 * expected[0]  # it trained: the comparison means something
    np.testing.assert_allclose(losses, expected, rtol=RTOL, atol=0, err_msg=f"{style}, seed {seed}")
