"""Predict, then run: the questions a learner answers before a run, and their answers, which come
from the run itself, never typed in.

    asked(cfg)                                   # the questions asked of this run
    QUESTIONS["way"].answer(losses, check, cfg)  # what the run did, by the rule of ``way``

Each question is data: its words, its choices, which runs it applies to, and a sentence per
answer on why a run does that. The rules are plain functions of the run's recorded losses and its
live gradient check (``Trainer.check``), tested on real runs (``tests/test_predict.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .styles import MISTAKES, STYLES

#: Which way the loss goes, as ``way`` decides it.
SMOOTH, CLIMBS, BLOWS_UP, FLAT = "falls smoothly", "falls, then climbs", "blows up", "hardly moves"
WAYS = (SMOOTH, CLIMBS, BLOWS_UP, FLAT)
#: A run "hardly moves" when its last loss is above this share of its first.
FLAT_SHARE = 0.5
#: It "climbs" when its last loss is more than this many times its lowest (on the chart's log
#: scale, a climb the eye sees).
CLIMB_RATIO = 1.5
#: It "blows up" when a loss was not finite (the run diverged) or its last is this many times its first.
BLOWN = 10.0


def way(losses: np.ndarray) -> str:
    """Which way a run's loss went: blows up (a loss not finite, or the last over ``BLOWN`` times
    the first), hardly moves (the last above ``FLAT_SHARE`` of the first), falls then climbs (the
    last over ``CLIMB_RATIO`` times the lowest), or falls smoothly."""
    losses = np.asarray(losses, dtype=np.float64)
    if not len(losses) or not np.all(np.isfinite(losses)) or losses[-1] > BLOWN * losses[0]:
        return BLOWS_UP
    first, last, lowest = losses[0], losses[-1], float(np.min(losses))
    if last > FLAT_SHARE * first:
        return FLAT
    if last > CLIMB_RATIO * lowest:
        return CLIMBS
    return SMOOTH


#: How far: the final loss's power of ten, or that no final loss was finite.
DIVERGES = "it diverges"
POWERS = tuple(range(-8, 11))


def how_far(losses: np.ndarray) -> str:
    """The final loss as a power of ten (``1e-05``), or ``DIVERGES``."""
    losses = np.asarray(losses, dtype=np.float64)
    if not len(losses) or not math.isfinite(losses[-1]):
        return DIVERGES
    if losses[-1] <= 0:
        return power_label(POWERS[0])
    return power_label(min(max(math.floor(math.log10(losses[-1])), POWERS[0]), POWERS[-1]))


def power_label(power: int) -> str:
    return f"1e{power:+03d}"


#: Which layer's gradient the live gradient check finds off, in its last conclusive verdict.
FIRST, SECOND = "the first layer's (w1)", "the second layer's (w2)"
FLAGS = (FIRST, SECOND, "both", "neither")


def flagged(check: dict | None, style: str) -> str:
    """What the run's live check (``Trainer.check``) found off, by layer (``StyleInfo.layers``:
    a bias belongs to its layer's weight)."""
    layers = STYLES[style].layers
    off = {i for i, layer in enumerate(layers) for name in (check or {}).get("off", {}) if name in layer}
    if {0, len(layers) - 1} <= off:
        return "both"
    return FIRST if 0 in off else SECOND if off else "neither"


@dataclass(frozen=True)
class Question:
    key: str
    words: str  # as the page asks it
    choices: tuple[str, ...]
    applies: Callable  # (Config) -> bool
    answer: Callable  # (losses, check, cfg) -> the choice the run makes right
    why: Callable  # (Config, the right choice) -> one sentence on why the run did that


def _way_why(cfg, right: str) -> str:
    if cfg.mistake != "none":
        return MISTAKES[cfg.mistake].shows
    return {
        SMOOTH: "Each step goes a little way down the slope, and the slope flattens as the loss falls.",
        CLIMBS: "The step that suited the start is too large near the bottom: it overshoots, and the loss climbs back.",
        BLOWS_UP: "The learning rate is too large for the curvature: every step overshoots by more than the last.",
        FLAT: "The steps are too small (or the network cannot fit the data): the loss hardly changes.",
    }[right]


def _flag_why(cfg, right: str) -> str:
    if cfg.mistake != "none":
        return MISTAKES[cfg.mistake].look_for
    return "The cell's gradients are right: the check finds nothing off." if right == "neither" else ""


def _checked(cfg) -> bool:
    """Runs whose gradients the live check follows: a backward pass by hand, or a mistake."""
    return cfg.mistake != "none" or STYLES[cfg.style].live_check


QUESTIONS = {
    q.key: q
    for q in (
        Question(
            "way",
            "Which way will the loss go?",
            WAYS,
            lambda cfg: True,
            lambda losses, check, cfg: way(losses),
            _way_why,
        ),
        Question(
            "far",
            "How low will the last loss be?",
            (*(power_label(p) for p in POWERS), DIVERGES),
            lambda cfg: True,
            lambda losses, check, cfg: how_far(losses),
            lambda cfg, right: "The summed squared error over the batch: it grows with N and D_out.",
        ),
        Question(
            "flag",
            "Which weight's gradient will the check find off?",
            FLAGS,
            _checked,
            lambda losses, check, cfg: flagged(check, cfg.style),
            _flag_why,
        ),
    )
}


def asked(cfg) -> list[Question]:
    """The questions asked of a run with settings ``cfg``."""
    return [q for q in QUESTIONS.values() if q.applies(cfg)]
