"""The gradient check (``inspection/gradcheck.py``) and the classic mistakes (``styles.MISTAKES``), run for real.

The check passes every correct style in float64 and flags every backprop mistake on the weight it
breaks, and only there; each mistake's effect on training is the one measured (see the registry's
``look_for``); the mistake setting goes through links, the command line, run files and compare.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SMALL

from playground import links
from playground.compare import preset
from playground.config import STYLES, Config, ConfigError, Limits
from playground.export import load_run, run_json
from playground.inspection.step import inspect_backprop
from playground.styles import MISTAKES, style_info
from playground.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CURVE = {"n": 16, "hidden": 12}
#: Each backprop mistake, the styles it is written for, and the weights it breaks ("all": every one).
BREAKS = {
    "no_relu_mask": (("numpy", "tensor"), ("w1",)),
    "relu_backward_unmasked": (("function",), ("w1",)),
    "no_zero_grad": (("autograd", "optim", "module"), "all"),
}


def checked(style: str, mistake: str = "none", data: str = "random", steps_before: int = 2, **extra) -> dict:
    sizes = SMALL if data == "random" else CURVE
    cfg = Config.for_style(style, mistake=mistake, data=data, dtype="float64", **sizes, **extra)
    trainer = Trainer(cfg)
    trainer.run(steps_before)
    return inspect_backprop(trainer, twin=False).check


def losses(style: str, mistake: str = "none", **settings) -> list[float]:
    trainer = Trainer(Config.for_style(style, mistake=mistake, dtype="float64", **settings))
    rows = []
    while (row := trainer.step()) is not None:
        rows.append(row["loss"])
    return rows


@pytest.mark.parametrize("data", ["random", "sin"])
@pytest.mark.parametrize("style", STYLES)
def test_the_check_passes_every_correct_style_in_float64(style, data):
    check = checked(style, data=data)
    assert check["verdict"] == "matches", check
    for row in check["rows"]:
        assert row["autograd"] <= 1e-6 and row["finite_differences"] <= 1e-6, row
        assert row["entries"] == min(5, row["entries"]) > 0


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("style", STYLES)
def test_the_check_passes_at_the_tutorials_sizes(style, seed):
    """64/1000/100/10: many ReLU units, so a finite difference's first step can cross a kink
    (DynamicNet's seed 0 draws depth 3, seed 3 draws it after three steps)."""
    trainer = Trainer(Config.for_style(style, dtype="float64", seed=seed))
    trainer.run(seed)
    check = inspect_backprop(trainer, twin=False).check
    assert check["verdict"] == "matches", check


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_the_check_follows_the_depth_dynamicnet_drew(depth):
    check = checked("dynamic", min_depth=depth, max_depth=depth)
    assert check["verdict"] == "matches"


@pytest.mark.parametrize(
    ("mistake", "style"), [(m, s) for m, (styles, _) in BREAKS.items() for s in styles], ids=lambda v: str(v)
)
@pytest.mark.parametrize("data", ["random", "sin"])
def test_the_check_flags_each_backprop_mistake_on_the_weight_it_breaks_and_only_there(mistake, style, data):
    check = checked(style, mistake, data=data)
    broken = BREAKS[mistake][1]
    for row in check["rows"]:
        worst = max(row["autograd"], row["finite_differences"])
        if broken == "all" or row["weight"] in broken:
            assert worst >= 1e-2 and not row["matches"], row
        else:
            assert worst <= 1e-6 and row["matches"], row
    assert check["verdict"].startswith("does not match: ")


def _line_of(style: str, mistake: str, text: str) -> int:
    """The line of the mistake's file that holds ``text``."""
    lines = style_info(style, mistake).source().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_the_verdict_of_a_forgotten_mask_points_at_the_line_that_makes_grad_h():
    """Not at grad_w1, one step past the bug: at the first gradient that is off, and what made it."""
    for style in ("numpy", "tensor"):
        check = checked(style, "no_relu_mask")
        line = _line_of(style, "no_relu_mask", "grad_h = grad_h_relu")
        assert check["first_off"]["name"] == "grad_h" and check["first_off"]["made_by"] == f"line {line}"
        assert check["first_off"]["off_by"] > 0.1
        assert check["verdict"].startswith(
            f"does not match: grad_h is the first gradient that is off, made by line {line}: off by "
        ), check["verdict"]
        assert "From it, the gradient of w1 (off by " in check["verdict"]


def test_the_verdict_of_an_unmasked_custom_backward_names_the_backward_that_made_it():
    check = checked("function", "relu_backward_unmasked")
    first = _line_of("function", "relu_backward_unmasked", "(input,) = ctx.saved_tensors")
    last = _line_of("function", "relu_backward_unmasked", "return grad_input")
    assert check["first_off"]["name"] == "grad_h"
    lines = ", ".join(map(str, range(first, last + 1)))
    assert check["first_off"]["made_by"] == f"MyReLUBackward, in its own backward (lines {lines})"
    assert "MmBackward0" not in check["verdict"].split("From it")[0], check["verdict"]


def test_zero_grad_forgotten_is_invisible_on_the_first_step_and_flagged_from_the_second():
    for style in BREAKS["no_zero_grad"][0]:
        assert checked(style, "no_zero_grad", steps_before=0)["verdict"] == "matches", style
        verdict = checked(style, "no_zero_grad", steps_before=1)["verdict"]
        assert verdict.endswith("are earlier steps' gradients still in .grad?"), verdict
        assert checked(style, "no_zero_grad", steps_before=1)["first_off"]["name"] == "", style  # what flowed was right


def test_an_update_that_climbs_passes_the_check():
    assert checked("numpy", "wrong_sign")["verdict"] == "matches"


# --- each mistake's effect on training, as measured (seed 0, float64, 500 steps) --------------


def test_zero_grad_forgotten_leaves_the_correct_losses_from_step_2_on():
    for style in BREAKS["no_zero_grad"][0]:
        right, wrong = losses(style), losses(style, "no_zero_grad")
        assert wrong[:2] == right[:2], style  # nothing to add to yet: the same two steps
        assert all(a != b for a, b in zip(right[2:20], wrong[2:20], strict=True)), style
    # Measured: module ends at 33 against 6.7e-06, optim (Adam) at 131 against 7.7e-07, and the
    # autograd cell diverges at step 127.
    assert losses("module", "no_zero_grad")[-1] > 1.0 > 1e-3 > losses("module")[-1]
    assert losses("optim", "no_zero_grad")[-1] > 1.0 > 1e-3 > losses("optim")[-1]
    assert not np.isfinite(losses("autograd", "no_zero_grad")[-1])


def test_a_forgotten_mask_hides_from_the_loss_on_random_data_but_not_on_a_curve():
    # Measured: random data ends at 2.0e-05 against 1.8e-05; the sine at 0.65 against 0.13.
    assert losses("numpy", "no_relu_mask")[-1] < 1e-3 and losses("numpy")[-1] < 1e-3
    right, wrong = losses("numpy", data="sin")[-1], losses("numpy", "no_relu_mask", data="sin")[-1]
    assert wrong > 3 * right


def test_the_custom_backward_unmasked_is_the_forgotten_mask_in_autograd():
    np.testing.assert_allclose(
        losses("function", "relu_backward_unmasked", steps=100), losses("numpy", "no_relu_mask", steps=100), rtol=1e-9
    )


def test_an_update_that_climbs_diverges_within_ten_steps():
    climbed = losses("numpy", "wrong_sign")
    assert climbed[1] > climbed[0] and len(climbed) <= 10 and not np.isfinite(climbed[-1])


@pytest.mark.parametrize(("style", "mistake"), [("numpy", "wrong_sign"), ("autograd", "no_zero_grad")])
def test_a_mistake_that_diverges_says_what_the_mistake_did_not_which_rate_to_try(style, mistake):
    """No learning rate fixes an update that climbs the loss: the message is the mistake's own."""
    trainer = Trainer(Config.for_style(style, mistake=mistake, threads=1))
    trainer.run()
    assert trainer.status == "diverged"
    assert trainer.message.endswith(MISTAKES[mistake].diverged)
    assert "try" not in trainer.message and "too large" not in trainer.message
    assert all(m.diverged for m in MISTAKES.values())


# --- the graph shows where the wrong gradient comes from ---------------------------------------


def test_the_graph_of_a_forgotten_mask_has_no_mask_edge_and_says_so():
    graph = inspect_backprop(Trainer(Config.for_style("numpy", mistake="no_relu_mask", **SMALL)), twin=False).graph
    assert not any(edge.label == "mask" for edge in graph.edges)
    assert "no mask" in graph.nodes["grad_h"].equation
    function = inspect_backprop(
        Trainer(Config.for_style("function", mistake="relu_backward_unmasked", **SMALL)), twin=False
    ).graph
    assert "no mask" in function.nodes["MyReLUBackward"].back_equation


# --- the files, and the setting through every door ---------------------------------------------


def test_each_mistake_is_its_style_file_with_one_bug():
    for mistake in MISTAKES.values():
        for style in mistake.variants:
            right, wrong = style_info(style).source(), style_info(style, mistake.name).source()
            lines = list(difflib.ndiff(right.splitlines(), wrong.splitlines()))
            added = [line for line in lines if line.startswith("+ ")]
            removed = [line for line in lines if line.startswith("- ")]
            assert 1 <= len(added) <= 2 and all("MISTAKE" in line for line in added), (style, added)
            assert 1 <= len(removed) <= 3, (style, removed)  # the bug replaces a line or two, no more


def test_a_mistake_that_does_not_apply_is_refused_by_name_and_repaired_in_a_link():
    with pytest.raises(ConfigError) as caught:
        Config.for_style("module", mistake="no_relu_mask")
    assert caught.value.field == "mistake" and "allowed none, or choose style numpy or tensor" in str(caught.value)
    with pytest.raises(ConfigError, match="mistake"):
        Config.for_style("numpy", mistake="off_by_one")
    cfg, notes = links.from_query({"style": "module", "mistake": "no_relu_mask"}, ["cpu"], Limits())
    assert cfg.mistake == "none" and any(note.startswith("mistake:") for note in notes)
    cfg, notes = links.from_query({"style": "tensor", "mistake": "no_relu_mask"}, ["cpu"], Limits())
    assert cfg.mistake == "no_relu_mask" and not notes
    assert links.to_query(cfg)["mistake"] == "no_relu_mask"


@pytest.mark.process
def test_the_command_line_runs_refuses_and_replays_a_mistake(tmp_path):
    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "playground", "train", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    refused = cli("--style", "module", "--mistake", "no_relu_mask")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "mistake:" in refused.stderr
    path = tmp_path / "run.json"
    done = cli("--style", "numpy", "--mistake", "no_relu_mask", "--steps", "30", "--save", str(path))
    assert done.returncode == 0, done.stderr
    saved = json.loads(path.read_text())
    assert saved["config"]["mistake"] == "no_relu_mask"
    again = cli("--config", str(path), "--json")
    assert [json.loads(line)["loss"] for line in again.stdout.splitlines()] == saved["history"]["loss"]


def test_an_export_records_the_mistake_and_reads_it_back():
    trainer = Trainer(Config.for_style("autograd", mistake="no_zero_grad", steps=5, **SMALL))
    trainer.run()
    run = load_run(run_json(trainer.cfg, trainer.changes, trainer.history))
    assert run.config.mistake == "no_zero_grad"


def test_compare_races_each_mistake_against_its_correct_cell():
    runs = preset("mistakes", steps=20)
    labels = [label for label, _ in runs]
    for mistake in MISTAKES.values():
        style = next(iter(mistake.variants))
        assert style in labels and f"{style}, {mistake.name}" in labels
    assert len(runs) <= 8
    assert {cfg.seed for _, cfg in runs} == {0}


@pytest.mark.parametrize("style", BREAKS["no_zero_grad"][0])
def test_a_parked_run_keeps_the_gradients_that_pile_up(style):
    """A parked run is pickled (server/worker.py), which drops a tensor's .grad: kept by the style."""
    import pickle

    went_on = Trainer(Config.for_style(style, mistake="no_zero_grad", steps=40))
    went_on.run(20)
    restored = pickle.loads(pickle.dumps(went_on))
    went_on.run()
    restored.run()
    assert list(restored.history["loss"]) == list(went_on.history["loss"])
