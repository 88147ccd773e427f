"""What a run records, named once: its status, the live changes it took, its columns.

The trainer writes these, the worker sends them over the pipe, the page and the
exports read them; all of them import the names from here (no torch, so the
app's server can too).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    READY = "ready"  # can take another step
    DONE = "done"  # took all its steps
    DIVERGED = "diverged"  # the loss became NaN or infinite
    ERROR = "error"  # could not start, or its training process stopped (the page's view only)

    @property
    def ended(self) -> bool:
        return self is not Status.READY


@dataclass(frozen=True)
class Change:
    """A setting changed during a run: ``value`` applies from step ``step`` on."""

    step: int
    setting: str  # one of config.LIVE_SETTINGS
    value: float | int


# ------------------------------------------------------------------ columns
# A row of the history holds "step", "loss", "lr" (the learning rate that step used), "depth"
# (DynamicNet), and every ``stats_every`` steps per weight tensor the statistics below and per
# ReLU layer the dead fraction. A row of the histograms holds per weight tensor its counts.


def statistic(tensor: str, name: str) -> str:
    """The history column of statistic ``name`` (grad_norm, grad_mean, grad_max or update_ratio) of ``tensor``."""
    return f"{tensor}.{name}"


def dead(layer: str) -> str:
    """The history column of the fraction of dead units in the ReLU layer labelled ``layer``."""
    return f"dead.{layer}"


def counts(tensor: str) -> str:
    """The histograms column of ``tensor``'s |grad| counts per octave."""
    return f"hist.{tensor}"


def zeros(tensor: str) -> str:
    """The histograms column of how many of ``tensor``'s gradients were exactly zero."""
    return f"zeros.{tensor}"
