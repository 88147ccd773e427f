"""Predict, then run: the answers the page marks right come from the runs themselves. Each rule is
tried on real runs of the presets, the mistakes and the learning rates that show its answer."""

from __future__ import annotations

import numpy as np
import pytest

from playground import predict
from playground.compare import preset
from playground.config import Config
from playground.trainer import Trainer


def run(cfg: Config) -> tuple[np.ndarray, Trainer]:
    """A run as the page trains it (with its live check); a diverged run's last loss is NaN."""
    trainer, losses = Trainer(cfg, checks=True), []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
    if trainer.status.name == "DIVERGED":
        losses.append(float("nan"))
    return np.array(losses), trainer


def answers(cfg: Config) -> dict[str, str]:
    losses, trainer = run(cfg)
    return {q.key: q.answer(losses, trainer.check, cfg) for q in predict.asked(cfg)}


#: Real runs, and what each does by the rules.
RUNS = [
    (Config.for_style("numpy"), {"way": predict.SMOOTH, "far": "1e-05", "flag": "neither"}),
    (Config.for_style("numpy", mistake="no_relu_mask"), {"way": predict.SMOOTH, "flag": predict.FIRST}),
    (Config.for_style("function", mistake="relu_backward_unmasked"), {"flag": predict.FIRST}),
    (
        Config.for_style("numpy", mistake="wrong_sign"),
        {"way": predict.BLOWS_UP, "far": predict.DIVERGES, "flag": "neither"},
    ),
    (Config.for_style("autograd", mistake="no_zero_grad"), {"way": predict.BLOWS_UP, "flag": "both"}),
    (Config.for_style("optim", mistake="no_zero_grad"), {"way": predict.CLIMBS}),
    (Config.for_style("numpy", lr=1e-9), {"way": predict.FLAT}),
    (Config.for_style("module", lr=0.1), {"way": predict.BLOWS_UP}),
]


@pytest.mark.parametrize(("cfg", "expected"), RUNS, ids=lambda v: getattr(v, "style", ""))
def test_each_rule_gives_what_the_real_run_does(cfg, expected):
    got = answers(cfg)
    assert {k: got[k] for k in expected} == expected, got


def test_every_answer_is_one_of_its_questions_choices_on_every_preset_and_mistake():
    from playground.styles import MISTAKES

    cfgs = [cfg for _, cfg in preset("tutorial", steps=100)]
    cfgs += [Config.for_style(s, mistake=m, steps=200) for m, mistake in MISTAKES.items() for s in mistake.variants]
    for cfg in cfgs:
        losses, trainer = run(cfg)
        for q in predict.asked(cfg):
            right = q.answer(losses, trainer.check, cfg)
            assert right in q.choices, (cfg.style, cfg.mistake, q.key, right)
            assert isinstance(q.why(cfg, right), str)


def test_the_flag_question_is_asked_only_of_runs_whose_gradients_are_checked():
    assert [q.key for q in predict.asked(Config.for_style("numpy"))] == ["way", "far", "flag"]
    assert [q.key for q in predict.asked(Config.for_style("module"))] == ["way", "far"]
    assert "flag" in [q.key for q in predict.asked(Config.for_style("module", mistake="no_zero_grad"))]


def test_the_rules_on_made_up_curves():
    assert predict.way(np.array([100.0, 50, 10, 1])) == predict.SMOOTH
    assert predict.way(np.array([100.0, 10, 1, 5])) == predict.CLIMBS
    assert predict.way(np.array([100.0, 99, 98])) == predict.FLAT
    assert predict.way(np.array([100.0, 1e4])) == predict.BLOWS_UP
    assert predict.way(np.array([100.0, np.nan])) == predict.BLOWS_UP
    assert predict.how_far(np.array([5.0, 3.2e-5])) == "1e-05"
    assert predict.how_far(np.array([5.0, 1e-30])) == "1e-08"  # the lowest choice
