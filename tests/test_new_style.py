"""A new style is one file plus one registry entry: the recipe in ``playground/styles/__init__.py``.

The test writes a throwaway style to a file outside the package and, in a fresh process, adds its
one ``StyleInfo`` to the registry before anything else of the package is imported. Nothing else is
edited, and the style trains through the command line and through a link.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

pytestmark = pytest.mark.process

# The file: the tensor cell's network (no biases, backprop and update by hand) under a new name.
STYLE_FILE = '''
"""A throwaway style: the tensor cell again, to show that a style is one file and one entry."""

from playground.styles._support import HandUpdated
from playground.styles.contract import ReluLayer


class ThrowawayNet(HandUpdated):
    relu_layers = [ReluLayer("hidden", "w1", unit_axis=1)]

    def __init__(self, problem, cfg):
        self.x = problem.tensor(problem.x)
        self.y = problem.tensor(problem.y)
        self.weights = {"w1": problem.tensor(problem.w1), "w2": problem.tensor(problem.w2)}
        self.learning_rate = cfg.lr

    def step(self):
        x, y = self.x, self.y
        w1, w2 = self.weights["w1"], self.weights["w2"]
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum().item()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h = grad_y_pred.mm(w2.t())
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        w1 -= self.learning_rate * grad_w1
        w2 -= self.learning_rate * grad_w2
        self.grads = {"w1": grad_w1, "w2": grad_w2}
        return loss
'''

# The entry, then the command line and a link, in a process of its own (the registry is read once,
# when playground.config is first imported).
CHILD = """
import contextlib, io, json

from playground.styles import BIAS_FREE_NET, STYLES, StyleInfo

STYLES["throwaway"] = StyleInfo(
    "throwaway",
    "scratch_styles.throwaway",  # a dotted name: imported as it is, from outside the package
    "ThrowawayNet",
    "A throwaway style",
    "The tensor cell again, from a file outside the package.",
    "It trains like any other style.",
    defaults={"lr": 1e-3, "optimizer": "sgd"},
    layers=BIAS_FREE_NET,
    curve_lr=5e-5,
    updates_by_hand=True,
    bias_free=True,
)

from playground import cli
from playground.config import Limits
from playground.links import from_query
from playground.trainer import Trainer

result = {}
out = io.StringIO()
with contextlib.redirect_stdout(out):
    result["cli_code"] = cli.main(
        ["train", "--style", "throwaway", "--steps", "30", "--n", "8", "--d-in", "5", "--hidden", "6",
         "--d-out", "2", "--json"]
    )
result["cli_losses"] = [json.loads(line)["loss"] for line in out.getvalue().splitlines()]

listing = io.StringIO()
with contextlib.redirect_stdout(listing):
    result["styles_code"] = cli.main(["styles"])
result["listing"] = listing.getvalue()
result["source"] = STYLES["throwaway"].source()  # what the code panel shows

for data in ("random", "sin"):
    query = {"style": "throwaway", "data": data, "steps": "30", "n": "8", "hidden": "6"}
    if data == "random":
        query |= {"d_in": "5", "d_out": "2"}
    cfg, warnings = from_query(query, ["cpu"], Limits())
    trainer = Trainer(cfg)
    losses = []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
    result[data] = {
        "config": cfg.to_dict(),
        "warnings": warnings,
        "losses": losses,
        "status": str(trainer.status.value),
        "fit": trainer.fit() is not None,
    }
print(json.dumps(result))
"""


def test_a_new_style_is_one_file_and_one_registry_entry(tmp_path):
    package = tmp_path / "scratch_styles"  # a folder on the path: a namespace package, no __init__.py
    package.mkdir()
    (package / "throwaway.py").write_text(textwrap.dedent(STYLE_FILE), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])

    # (a) the command line: its flag accepts the style, and the loss falls
    assert result["cli_code"] == 0
    losses = result["cli_losses"]
    assert len(losses) == 30 and losses[-1] < losses[0] / 2
    assert result["styles_code"] == 0 and "throwaway" in result["listing"]
    assert result["source"] == textwrap.dedent(STYLE_FILE)

    # (b) a link: the style and its defaults, no warnings, and a run that trains
    random = result["random"]
    assert random["warnings"] == []
    assert (random["config"]["style"], random["config"]["lr"]) == ("throwaway", 1e-3)
    assert (random["config"]["n"], random["config"]["d_in"], random["config"]["d_out"]) == (8, 5, 2)
    assert random["status"] == "done" and len(random["losses"]) == 30
    assert random["losses"][-1] < random["losses"][0] / 2

    # on a curve: its rate for the curves, and a column of ones beside x (it has no biases)
    curve = result["sin"]
    assert curve["warnings"] == [] and curve["config"]["lr"] == 5e-5
    assert curve["status"] == "done" and curve["fit"]
    assert curve["losses"][-1] < curve["losses"][0]
