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
# ReLU layer the dead fraction. A row of the histograms holds per weight tensor the counts of its
# gradients, and of each other kind the run was asked to record (``HISTOGRAM_KINDS``).

#: What a histogram can count, per octave of |value|: the step's gradients (always recorded), the
#: weights the step used, the update it made, the hidden layer's activations before and after its ReLU.
HISTOGRAM_KINDS = ("gradients", "weights", "updates", "activations")


def statistic(tensor: str, name: str) -> str:
    """The history column of statistic ``name`` (grad_norm, grad_mean, grad_max or update_ratio) of ``tensor``."""
    return f"{tensor}.{name}"


def dead(layer: str) -> str:
    """The history column of the fraction of dead units in the ReLU layer labelled ``layer``."""
    return f"dead.{layer}"


def series(kind: str, name: str) -> str:
    """One histogram's name: ``name`` (a weight tensor, or for activations ``activation_series``)
    for the gradients, ``<kind>.<name>`` for the other kinds."""
    return name if kind == "gradients" else f"{kind}.{name}"


def activation_series(layer: str) -> tuple[str, str]:
    """The names of the activations of the ReLU layer labelled ``layer``: before and after its ReLU."""
    return f"{layer} before ReLU", f"{layer} after ReLU"


def counts(tensor: str) -> str:
    """The histograms column of ``tensor``'s |grad| counts per octave (any ``series``: its counts)."""
    return f"hist.{tensor}"


def zeros(tensor: str) -> str:
    """The histograms column of how many of ``tensor``'s gradients (or a ``series``' values) were exactly zero."""
    return f"zeros.{tensor}"
