"""Look inside one step: the intermediates are the engine's own numbers, and stepping is unchanged."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import to_numpy

from playground.config import STYLES as STYLE_NAMES
from playground.config import Config
from playground.inspection.step import inspect_step
from playground.styles import STYLES
from playground.trainer import Trainer

TINY = {"n": 4, "d_in": 6, "hidden": 5, "d_out": 3, "dtype": "float64"}

HAND_NAMES = [
    "h",
    "h_relu",
    "y_pred",
    "loss",
    "grad_y_pred",
    "grad_w2",
    "grad_h_relu",
    "grad_h",
    "grad_w1",
    "update of w1",
    "update of w2",
]


def _config(style: str, **overrides) -> Config:
    return Config.for_style(style, **{**TINY, **overrides})


def _by_hand(x, y, w1, w2, lr) -> dict[str, np.ndarray]:
    """The tutorial's maths in NumPy, independent of the style code."""
    h = x @ w1
    h_relu = np.where(h > 0, h, 0.0)
    y_pred = h_relu @ w2
    loss = np.sum((y_pred - y) ** 2)
    grad_y_pred = 2 * (y_pred - y)
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h_relu = grad_y_pred @ w2.T
    grad_h = np.where(h < 0, 0.0, grad_h_relu)
    grad_w1 = x.T @ grad_h
    return {
        "h": h,
        "h_relu": h_relu,
        "y_pred": y_pred,
        "loss": np.asarray(loss),
        "grad_y_pred": grad_y_pred,
        "grad_w2": grad_w2,
        "grad_h_relu": grad_h_relu,
        "grad_h": grad_h,
        "grad_w1": grad_w1,
        "update of w1": (w1 - lr * grad_w1) - w1,
        "update of w2": (w2 - lr * grad_w2) - w2,
    }


@pytest.mark.parametrize("style", ["numpy", "tensor"])
def test_hand_written_styles_show_every_intermediate(style):
    # lr large enough that the update is well above rounding of the weights
    cfg = _config(style, lr=1e-3, steps=30)
    trainer = Trainer(cfg)
    trainer.run(2)  # not the first step: the weights have moved
    before = {name: to_numpy(w) for name, w in trainer.net.parameters().items()}
    x, y = to_numpy(trainer.problem.x), to_numpy(trainer.problem.y)
    expected = _by_hand(x, y, before["w1"], before["w2"], cfg.lr)

    twin = Trainer(cfg)
    twin.run(2)
    twin_row = twin.step()

    parts = inspect_step(trainer)

    assert [p.name for p in parts] == HAND_NAMES
    source = STYLES[style].source()
    for part in parts:
        want = expected[part.name]
        assert part.shape == want.shape, part.name
        assert part.norm == pytest.approx(float(np.linalg.norm(want)), rel=1e-10), part.name
        assert part.sample == pytest.approx(list(want.ravel()[:4]), rel=1e-9, abs=1e-12), part.name
        assert part.code in source and part.code, part.name
    by_name = {p.name: p for p in parts}
    assert by_name["grad_h"].code == "grad_h[h < 0] = 0"  # the line that made its final value
    assert by_name["update of w1"].code.startswith("w1 -=")
    assert by_name["update of w2"].code.startswith("w2 -=")
    # The panel's loss is the engine's loss, and the engine's loss is a plain step's loss.
    loss = by_name["loss"]
    assert loss.shape == () and loss.sample == (trainer.last["loss"],)
    assert trainer.last["loss"] == twin_row["loss"]
    # ... and the weights moved by exactly the updates shown.
    after = trainer.net.parameters()
    for name in ("w1", "w2"):
        delta = to_numpy(after[name]) - before[name]
        assert by_name[f"update of {name}"].norm == float(np.linalg.norm(delta))


@pytest.mark.parametrize("style", ["numpy", "module"])
def test_inspecting_is_one_ordinary_step(style):
    cfg = _config(style, steps=40)
    inspected, twin = Trainer(cfg), Trainer(cfg)
    inspected.run(3)
    twin.run(3)
    inspect_step(inspected)
    twin.step()
    assert inspected.steps_done == twin.steps_done == 4
    assert inspected.last == pytest.approx(twin.last, nan_ok=True)
    assert list(inspected.history["step"]) == [0, 1, 2, 3]
    for _ in range(20):
        assert inspected.step()["loss"] == twin.step()["loss"]


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_style_shows_loss_and_gradients(style):
    trainer = Trainer(_config(style, steps=5))
    parts = inspect_step(trainer)
    names = [p.name for p in parts]
    assert parts and "loss" in names and "y_pred" in names
    assert any(name.startswith("grad") for name in names)
    assert any(name.startswith("update of ") for name in names)
    assert not {"x", "y", "w1", "w2", "model", "optimizer", "param", "relu", "self"} & set(names)
    source = STYLES[style].source()
    for part in parts:
        assert part.code and part.code in source, part
        assert isinstance(part.norm, float) and all(isinstance(v, float) for v in part.sample)
        assert len(part.sample) <= 4
    loss = next(p for p in parts if p.name == "loss")
    assert loss.shape == () and loss.sample == pytest.approx([trainer.last["loss"]], rel=1e-12)
    if style not in ("numpy", "tensor"):  # autograd computes the gradients out of sight
        grads = [p for p in parts if p.name.startswith("grad of ")]
        assert grads and all(p.code == "loss.backward()" for p in grads)
        params = trainer.net.gradients()
        for part in grads:
            grad = to_numpy(params[part.name.removeprefix("grad of ")])
            assert part.norm == float(np.linalg.norm(grad))


def test_finished_trainer_is_not_stepped():
    trainer = Trainer(_config("numpy", steps=2))
    trainer.run()
    assert trainer.finished
    assert inspect_step(trainer) == []
    assert trainer.steps_done == 2


def test_trace_function_is_restored():
    before = sys.gettrace()
    inspect_step(Trainer(_config("tensor")))
    assert sys.gettrace() is before

    def outer(frame, event, arg):  # someone else's tracer (a debugger, coverage)
        return None

    trainer = Trainer(_config("numpy"))
    sys.settrace(outer)
    try:
        inspect_step(trainer)
        assert sys.gettrace() is outer
        trainer.net.x = np.zeros((4, 7))  # the step now raises
        with pytest.raises(ValueError):
            inspect_step(trainer)
        assert sys.gettrace() is outer
    finally:
        sys.settrace(before)
    assert sys.gettrace() is before


@pytest.mark.parametrize("style", ["nn", "optim", "module", "dynamic"])
def test_what_the_model_makes_inside_is_listed_too(style):
    """h and h_relu happen inside the model, out of the step's sight: read as they are made."""
    cfg = _config(style, min_depth=2, max_depth=2) if style == "dynamic" else _config(style)
    trainer = Trainer(cfg)
    trainer.run(1)
    params = {name: to_numpy(p) for name, p in trainer.net.parameters().items()}
    x = to_numpy(trainer.net.x)
    first = "0" if style in ("nn", "optim") else "input_linear" if style == "dynamic" else "linear1"
    h = x @ params[f"{first}.weight"].T + params[f"{first}.bias"]
    parts = {p.name: p for p in inspect_step(trainer)}
    assert {"h", "h_relu", "y_pred", "loss"} <= set(parts)
    np.testing.assert_allclose(parts["h"].sample, h.ravel()[:4], rtol=1e-12)
    np.testing.assert_allclose(parts["h_relu"].norm, np.linalg.norm(np.maximum(h, 0)), rtol=1e-12)
    names = [p.name for p in inspect_step(trainer)]
    assert names.index("h") < names.index("h_relu") < names.index("y_pred")
    if style == "dynamic":  # the middle layer, used twice: each use listed
        assert sum(name.startswith("h (use") for name in names) == 2
        assert sum(name.startswith("h_relu (use") for name in names) == 2


def test_a_finished_run_is_looked_inside_one_step_further():
    from playground.inspection.step import inspect_run

    trainer = Trainer(_config("numpy", steps=3))
    trainer.run()
    inspection = inspect_run(trainer)
    assert inspection.graph is not None and inspection.graph.t == 3 and not inspection.note
    assert trainer.steps_done == 4 and trainer.cfg.steps == 4
    assert [(c.setting, c.value, c.step) for c in trainer.changes] == [("steps", 4, 3)]


@pytest.mark.parametrize("style", ["numpy", "module"])
def test_a_diverged_run_shows_its_last_finite_step_and_stays_as_it_ended(style):
    from playground.inspection.step import inspect_run
    from playground.record import Status

    trainer = Trainer(Config.for_style(style, dtype="float64", steps=200, lr=0.1))  # diverges by step 6
    trainer.run()
    assert trainer.status == Status.DIVERGED
    ended = (trainer.steps_done, trainer.message, list(trainer.history["loss"]))
    inspection = inspect_run(trainer)
    last = trainer.steps_done - 2
    assert inspection.graph is not None and inspection.graph.t == last
    assert f"last finite step, t = {last}" in inspection.note
    loss = next(e for e in inspection.entries if e.name == "loss")
    assert list(loss.sample) == [pytest.approx(trainer.history["loss"][last], rel=1e-12)]
    assert (trainer.steps_done, trainer.message, list(trainer.history["loss"])) == ended

    too_long = inspect_run(trainer, seconds_per_step=10.0)  # a replay longer than REPLAY_S is not taken
    assert too_long.graph is None and f"about {last * 10} s of replay" in too_long.note
