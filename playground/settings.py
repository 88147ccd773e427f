"""Every setting of a run, declared once: ``SETTINGS``.

Each ``Setting`` names a field of the run configuration and everything the program knows of it:
its type, default, range or choices, help text, its sidebar widget (label, tooltip, step), and
where it goes: in a page's link (``in_link``), in the sidebar (``sidebar``, with the ``control``
lecture mode hides it under and the ``row`` it shares), and whether it may change while a run
trains (``live``). From this one list come ``config.Config``'s fields and their defaults, its
validation and messages, the command line's flags, the link's parameters, the sidebar's widgets
in their order, the controls lecture mode can hide, and the live settings.

A new setting is one entry here (the recipe is in ``docs/architecture.md``). This module imports
only the style registry and the curves (neither imports torch), and nothing reads ``SETTINGS``
before ``config`` is imported, so a test can add a setting first.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .curves import CURVES
from .styles import MISTAKES as MISTAKE_REGISTRY
from .styles import STYLES as REGISTRY

#: The styles, in the tutorial's order. Each style's facts live in its registry entry
#: (``styles.StyleInfo``); the lists and tables below are read from it.
STYLES = tuple(REGISTRY)
STYLE_LABELS = {name: f"{name}: {info.title}" for name, info in REGISTRY.items()}

#: The classic mistakes a style can be run with (``styles.MISTAKES``); "none" runs it as written.
MISTAKES = ("none", *MISTAKE_REGISTRY)
MISTAKE_LABELS = {
    "none": "none: the correct cell",
    **{m.name: f"{m.name}: {m.title}" for m in MISTAKE_REGISTRY.values()},
}

#: The data sets: the tutorial's random numbers, or a curve y = f(x) on [-pi, pi] (``curves.CURVES``).
DATA = ("random", *CURVES)
CURVE_DATA = tuple(CURVES)  # one input x and one output y
DATA_LABELS = {"random": "random: the tutorial's random numbers", **{c.name: c.label for c in CURVES.values()}}

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov")
OPTIMIZER_LABELS = {
    "sgd": "SGD",
    "momentum": "SGD + momentum",
    "nesterov": "Nesterov momentum",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}

DTYPES = ("float32", "float64")


class ConfigError(ValueError):
    """A setting is out of range, of the wrong type, or does not apply."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Setting:
    """One field of the run configuration: its checks, its command-line flag, its sidebar widget,
    and where it goes."""

    name: str
    kind: type  # int, float or str
    default: Any
    help: str  # the command line's help (the allowed values follow it)
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    label: str = ""  # the sidebar widget's label
    allowed_text: str = ""
    widget_help: str = ""  # the sidebar widget's tooltip, if any
    step: float | None = None  # the sidebar widget's step, where not 1 (a whole number's)
    choice_labels: dict[str, str] | None = dataclasses.field(default=None, hash=False)  # how the sidebar shows a choice
    in_link: bool = True  # a page's link carries it (it defines the run)
    sidebar: bool = True  # the sidebar has a widget for it, in the order of SETTINGS
    control: str = ""  # the control lecture mode hides it under ("": its name; one for settings drawn as one)
    row: str = ""  # settings of one row stand side by side in the sidebar, two to a line
    hideable: bool = True  # lecture mode may hide its control
    live: bool = False  # it may change while a run trains, from the next step (Trainer.change)
    text: bool = False  # free text, at most ``high`` characters (its grammar is a rule's: config.RULES)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def control_name(self) -> str:
        return self.control or self.name

    def allowed(self) -> str:
        if self.allowed_text:
            return self.allowed_text
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return f"{fmt(self.low)} to {fmt(self.high)}"

    def parse(self, value: Any) -> Any:
        """Convert and check one value; raise ConfigError naming this field."""
        if self.text:
            if not isinstance(value, str):
                raise ConfigError(self.name, f"{type(value).__name__} is not text; allowed {self.allowed()}")
            text = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").split("\n")).strip("\n")
            if len(text) > self.high:
                raise ConfigError(self.name, f"{len(text):,} characters is too long; allowed {self.allowed()}")
            return text
        if self.choices:
            text = str(value).strip().lower()
            if text not in self.choices:
                raise ConfigError(self.name, f"{value!r} is not allowed; choose {self.allowed()}")
            return text
        try:
            if isinstance(value, bool):
                raise TypeError
            if self.kind is int:
                number = float(value) if isinstance(value, str) else value
                if isinstance(number, float):
                    if not math.isfinite(number) or number != int(number):
                        raise ValueError
                    number = int(number)
                parsed: Any = int(number)
            else:
                parsed = float(value)
        except (TypeError, ValueError, OverflowError):
            kind = "a whole number" if self.kind is int else "a number"
            raise ConfigError(self.name, f"{value!r} is not {kind}; allowed {self.allowed()}") from None
        if not (self.low <= parsed <= self.high) or not math.isfinite(parsed):  # compares 10**400 too
            shown = fmt(parsed) if isinstance(parsed, float) or abs(parsed) < 10**15 else "a huge number"
            raise ConfigError(self.name, f"{shown} is out of range; allowed {self.allowed()}")
        return parsed


def fmt(number: float | None) -> str:
    """A number as a person writes it: 500, 0.9, 1e-07, nan."""
    if number is None:
        return "?"
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return str(int(number))
    return f"{number:g}" if isinstance(number, float) else str(number)


#: In the sidebar's order; a link writes its parameters in this order too.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "style",
        str,
        "numpy",
        "implementation style",
        choices=STYLES,
        label="Implementation style",
        choice_labels=STYLE_LABELS,
        hideable=False,
    ),
    Setting(
        "data",
        str,
        "random",
        "training data: the tutorial's random numbers, or points of a curve y = f(x) to fit",
        choices=DATA,
        label="Data",
        widget_help="The tutorial fits random numbers; a curve (one input x, one output y) shows the fit in a chart.",
        choice_labels=DATA_LABELS,
    ),
    Setting("n", int, 64, "batch size N", 1, 4096, label="Batch size (N)", row="sizes"),
    Setting("d_in", int, 1000, "input size D_in", 1, 10000, label="Input size (D_in)", row="sizes"),
    Setting("hidden", int, 100, "hidden size H", 1, 4096, label="Hidden size (H)", row="sizes"),
    Setting("d_out", int, 10, "output size D_out", 1, 1000, label="Output size (D_out)", row="sizes"),
    # The summed loss grows with N, D_out and the sizes: the largest sizes need rates far below the
    # tutorial's 1e-6 (numpy at N=512, H=2000 diverges at 1e-7; test_config checks the limits train).
    Setting(
        "lr",
        float,
        1e-6,
        "learning rate",
        1e-10,
        1.0,
        label="Learning rate (log scale)",
        widget_help="Applies from the next step, even during a run.",
        live=True,
    ),
    Setting(
        "optimizer",
        str,
        "sgd",
        "torch.optim optimizer (optim, module, dynamic)",
        choices=OPTIMIZERS,
        label="Optimizer",
        choice_labels=OPTIMIZER_LABELS,
    ),
    Setting(
        "momentum",
        float,
        0.9,
        "momentum for the momentum and nesterov optimizers",
        0.0,
        0.999,
        label="Momentum",
        step=0.001,
    ),
    Setting("device", str, "cpu", "device to train on", label="Device", allowed_text="cpu, cuda, cuda:N or mps"),
    Setting("dtype", str, "float32", "floating-point type", choices=DTYPES, label="Precision"),
    Setting(
        "min_depth",
        int,
        0,
        "DynamicNet: fewest middle layers per step",
        0,
        10,
        label="DynamicNet min depth",
        control="depth",
        row="depth",
    ),
    Setting(
        "max_depth",
        int,
        3,
        "DynamicNet: most middle layers per step",
        0,
        10,
        label="DynamicNet max depth",
        control="depth",
        row="depth",
    ),
    Setting(
        "steps",
        int,
        500,
        "number of training steps",
        1,
        1_000_000,
        label="Steps",
        widget_help="Run length. Raising it lets a finished run go on.",
        step=100,
        live=True,
    ),
    Setting(
        "seed",
        int,
        0,
        "random seed for data and weights",
        0,
        2**31 - 1,
        label="Seed",
        widget_help="The same seed gives every style the same data and starting weights.",
    ),
    Setting(
        "mistake",
        str,
        "none",
        "run the style with one famous backprop bug, on purpose",
        choices=MISTAKES,
        label="A classic mistake",
        widget_help="The style's file with one famous bug: the code panel shows it against the correct "
        "cell, and Look inside one step checks the gradients.",
        choice_labels=MISTAKE_LABELS,
    ),
    Setting(
        "backward",
        str,
        "",
        "your own backward pass and update for style numpy or tensor: the lines from grad_y_pred to "
        "the last update, unindented, as the cell writes them (docs/writing-backprop.md); none: the cell's",
        high=4000,
        text=True,
        allowed_text="lines within the backward-pass grammar (docs/writing-backprop.md), at most 4,000 characters",
        label="Your backward pass",
        sidebar=False,
        hideable=False,
    ),
    Setting(
        "threads",
        int,
        0,
        "threads for torch and NumPy's BLAS; 0 chooses from the cores and the run (the run records the count)",
        0,
        256,
        label="Threads",
        in_link=False,
        sidebar=False,
    ),
    Setting(
        "stats_every",
        int,
        20,
        "record gradient statistics every k steps",
        1,
        100_000,
        label="Statistics every k steps",
        in_link=False,
        sidebar=False,
    ),
    Setting(
        "hist_bins",
        int,
        32,
        "gradient histogram bins (powers of two of |grad|)",
        4,
        128,
        label="Histogram bins",
        in_link=False,
        sidebar=False,
    ),
    Setting(
        "hist_every",
        int,
        20,
        "record a gradient histogram every k steps",
        1,
        100_000,
        label="Histogram every k steps",
        in_link=False,
        sidebar=False,
    ),
)
