"""The live check beside the metrics: a hand-written backward pass is checked as it trains."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL

from playground.config import STYLES, Config
from playground.inspection.gradcheck import autograd_gradients, numpy_gradients
from playground.styles import MISTAKES, style_info
from playground.styles import STYLES as REGISTRY
from playground.trainer import CHECK_EVERY, Trainer
from playground.ui.live import check_badge, check_help

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("style", STYLES)
def test_the_chain_rule_in_numpy_equals_autograd(style):
    """The live check's reference, written out in NumPy, against autograd on every network shape."""
    trainer = Trainer(Config.for_style(style, dtype="float64", min_depth=2, max_depth=2, **SMALL))
    net = trainer.net
    params = {name: np.asarray(p, dtype=np.float64) for name, p in net.parameters().items()}
    x, y = np.asarray(net.x, dtype=np.float64), np.asarray(net.y, dtype=np.float64)
    layers = REGISTRY[style].layers
    expected, _ = autograd_gradients(params, x, y, layers, 2)
    ours = numpy_gradients(params, x, y, layers, 2)
    assert ours.keys() == expected.keys()
    for name, grad in expected.items():
        assert np.allclose(ours[name], grad, rtol=1e-12, atol=1e-12 * np.abs(grad).max()), name


def test_the_styles_checked_live_are_those_with_a_backward_pass_by_hand_and_every_mistake():
    assert [s for s in STYLES if REGISTRY[s].live_check] == ["numpy", "tensor", "function"]
    for mistake in MISTAKES.values():
        assert all(style_info(style, mistake.name).live_check for style in mistake.variants)
    assert Trainer(Config.for_style("module"), checks=True).checks is False
    assert Trainer(Config.for_style("numpy")).checks is False  # the command line's runs: no check


def run(style: str, mistake: str = "none", steps: int = 301, **settings) -> Trainer:
    trainer = Trainer(Config.for_style(style, mistake=mistake, steps=steps, **settings), checks=True)
    trainer.run()
    return trainer


@pytest.mark.parametrize("style", ["numpy", "tensor", "function"])
def test_a_correct_backward_pass_matches(style):
    check = run(style, steps=CHECK_EVERY + 1).check
    # float32 styles: by step 200 the loss is near its floor, so the last check that could tell is step 1's
    assert check["step"] in (1, CHECK_EVERY) and check["conclusive"] and check["off"] == {}
    assert check_badge(check) == ":green-badge[:material/check: match]"


@pytest.mark.parametrize(
    ("style", "mistake"),
    [("numpy", "no_relu_mask"), ("tensor", "no_relu_mask"), ("function", "relu_backward_unmasked")],
)
def test_a_forgotten_mask_is_w1_off(style, mistake):
    check = run(style, mistake).check
    assert list(check["off"]) == ["w1"] and check["off"]["w1"] > 0.5
    assert check_badge(check) == f":red-badge[:material/error: w1 off by {check['off']['w1']:.2g}]"
    assert f"At step {check['step']}" in check_help(check)


@pytest.mark.parametrize("style", ["autograd", "optim", "module"])
def test_a_forgotten_zero_grad_is_off_from_the_second_step(style):
    trainer = Trainer(Config.for_style(style, mistake="no_zero_grad", steps=CHECK_EVERY + 1), checks=True)
    trainer.step()
    assert trainer.check["step"] == 0 and trainer.check["off"] == {}  # nothing is left over in .grad yet
    trainer.step()
    assert trainer.check["step"] == 1
    assert set(trainer.check["off"]) == set(trainer.net.parameters())  # every weight's .grad piles up
    trainer.run(10)
    assert trainer.check["step"] == 1  # the next check is at CHECK_EVERY


def test_near_the_floor_the_last_check_that_could_tell_stands():
    """In float32, once the loss is near its floor the gradients are mostly rounding: the check says
    so, and keeps what it last could tell."""
    check = run("tensor", "no_relu_mask", steps=1000, dtype="float32").check
    assert check["step"] < check["hidden_from"] < 1000 and check["conclusive"] and "w1" in check["off"]
    assert f"From step {check['hidden_from']:,} on they are mostly rounding" in check_help(check)


def test_checking_changes_no_number():
    checked, plain = run("numpy", "no_relu_mask"), Trainer(Config.for_style("numpy", mistake="no_relu_mask", steps=301))
    plain.run()
    assert list(checked.history["loss"]) == list(plain.history["loss"])
    assert checked.net.weights["w1"].tobytes() == plain.net.weights["w1"].tobytes()
