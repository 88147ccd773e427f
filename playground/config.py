"""One run configuration, and the single list of settings that defines it.

Every setting is declared once, in ``SETTINGS``. The CLI builds its flags from
that list, the app builds its widgets (label, range or choices, help) and its URL
parameters from it, ``Config`` takes its fields' defaults from it, and
``Config.from_dict`` validates any input against it. A bad value raises
``ConfigError``, whose message names the field, the value and what is allowed.

What is known of each style (its tutorial defaults, its learning rate on the curves,
whether it trains with NumPy, ...) is declared in its entry in the style registry
(``styles.STYLES``); the style lists and tables here are read from it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .styles import MISTAKES as MISTAKE_REGISTRY
from .styles import STYLES as REGISTRY

#: The styles, in the tutorial's order. Each style's facts live in its registry entry
#: (``styles.StyleInfo``); the lists and tables below are read from it.
STYLES = tuple(REGISTRY)

#: Styles that train with NumPy (the others train with torch).
NUMPY_STYLES = tuple(name for name, info in REGISTRY.items() if info.trains_with_numpy)

#: Styles that update their weights by hand, without ``torch.optim``.
MANUAL_UPDATE_STYLES = tuple(name for name, info in REGISTRY.items() if info.updates_by_hand)

#: Styles whose network has no biases (x.mm(w1), as the tutorial's first cells).
BIAS_FREE_STYLES = tuple(name for name, info in REGISTRY.items() if info.bias_free)

#: The classic mistakes a style can be run with (``styles.MISTAKES``); "none" runs it as written.
MISTAKES = ("none", *MISTAKE_REGISTRY)
MISTAKE_LABELS = {
    "none": "none: the correct cell",
    **{m.name: f"{m.name}: {m.title}" for m in MISTAKE_REGISTRY.values()},
}

#: How the sidebar shows each style.
STYLE_LABELS = {name: f"{name}: {info.title}" for name, info in REGISTRY.items()}

#: The data sets: the tutorial's random numbers, or a curve y = f(x) on [-pi, pi] (``curves.py``).
DATA = ("random", "sin", "abs", "step", "noisy_sin")
CURVE_DATA = DATA[1:]  # one input x and one output y
DATA_LABELS = {
    "random": "random: the tutorial's random numbers",
    "sin": "sin: y = sin(x)",
    "abs": "abs: y = |x|, one kink",
    "step": "step: a jump at x = 0",
    "noisy_sin": "noisy_sin: sin(x) plus noise",
}

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
    """One field of the run configuration: its command-line flag, its checks and its sidebar widget."""

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

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.allowed_text:
            return self.allowed_text
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return f"{_fmt(self.low)} to {_fmt(self.high)}"

    def parse(self, value: Any) -> Any:
        """Convert and check one value; raise ConfigError naming this field."""
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
            shown = _fmt(parsed) if isinstance(parsed, float) or abs(parsed) < 10**15 else "a huge number"
            raise ConfigError(self.name, f"{shown} is out of range; allowed {self.allowed()}")
        return parsed


def _fmt(number: float | None) -> str:
    """A number as a person writes it: 500, 0.9, 1e-07, nan."""
    if number is None:
        return "?"
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return str(int(number))
    return f"{number:g}" if isinstance(number, float) else str(number)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "style",
        str,
        "numpy",
        "implementation style",
        choices=STYLES,
        label="Implementation style",
        choice_labels=STYLE_LABELS,
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
    Setting("n", int, 64, "batch size N", 1, 4096, label="Batch size (N)"),
    Setting("d_in", int, 1000, "input size D_in", 1, 10000, label="Input size (D_in)"),
    Setting("hidden", int, 100, "hidden size H", 1, 4096, label="Hidden size (H)"),
    Setting("d_out", int, 10, "output size D_out", 1, 1000, label="Output size (D_out)"),
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
    Setting("dtype", str, "float32", "floating-point type", choices=DTYPES, label="Precision"),
    Setting("device", str, "cpu", "device to train on", label="Device", allowed_text="cpu, cuda, cuda:N or mps"),
    Setting("min_depth", int, 0, "DynamicNet: fewest middle layers per step", 0, 10, label="DynamicNet min depth"),
    Setting("max_depth", int, 3, "DynamicNet: most middle layers per step", 0, 10, label="DynamicNet max depth"),
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
        "threads",
        int,
        0,
        "threads for torch and NumPy's BLAS; 0 chooses from the cores and the run (the run records the count)",
        0,
        256,
        label="Threads",
    ),
    Setting(
        "stats_every",
        int,
        20,
        "record gradient statistics every k steps",
        1,
        100_000,
        label="Statistics every k steps",
    ),
    Setting(
        "hist_bins",
        int,
        32,
        "gradient histogram bins (powers of two of |grad|)",
        4,
        128,
        label="Histogram bins",
    ),
    Setting(
        "hist_every",
        int,
        20,
        "record a gradient histogram every k steps",
        1,
        100_000,
        label="Histogram every k steps",
    ),
)
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}

#: Settings that may change during a run, from the next step on (a run records each change).
LIVE_SETTINGS = ("lr", "steps")

#: Each style's defaults, as the tutorial's cell sets them (``StyleInfo.defaults``).
STYLE_DEFAULTS: dict[str, dict[str, Any]] = {name: dict(info.defaults) for name, info in REGISTRY.items()}

#: A curve's sizes: N points, one input x, H hidden units, one output y.
CURVE_SIZES: dict[str, int] = {"n": 64, "d_in": 1, "hidden": 100, "d_out": 1}

#: Each style's learning rate on the curves (``StyleInfo.curve_lr``, where its measurement is told).
CURVE_STYLE_LR = {name: info.curve_lr for name, info in REGISTRY.items()}
CURVE_LR: dict[str, dict[str, float]] = {data: dict(CURVE_STYLE_LR) for data in CURVE_DATA}


def data_defaults(data: str, style: str) -> dict[str, Any]:
    """What data set ``data`` changes in ``style``'s defaults: nothing for the tutorial's random
    data; for a curve its sizes and the style's learning rate for it."""
    if data == "random":
        return {}
    return {**CURVE_SIZES, "lr": CURVE_LR[data][style]}


@dataclass(frozen=True)
class Limits:
    """Guards for the host, read from the environment (``PLAYGROUND_<NAME>``) so a deployment can tune them.

    The defaults suit a 2-core host with 2.7 GB (Streamlit Community Cloud's largest):
    whatever the number of visitors, the runs' processes and memory stay within these.
    """

    max_run_mb: float = 256.0  # estimated memory of one run's tensors; a bigger run is refused
    # Runs training at once (in turns); more wait in line. None: as many as the memory bound holds
    # (each training run is resident: ``memory_mb``), which is what fills the training processes.
    max_concurrent_runs: int | None = None
    training_processes: int = max(1, (os.cpu_count() or 2) - 1)  # leave the server a core
    memory_mb: float = 1024.0  # what runs held in the training processes may take together

    #: (field, type, smallest allowed) of each setting
    FIELDS = (
        ("max_run_mb", float, 1.0),
        ("max_concurrent_runs", int, 1),
        ("training_processes", int, 1),
        ("memory_mb", float, 16.0),
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, strict: bool = True) -> Limits:
        """The limits set in the environment. A bad value raises ConfigError, or with
        ``strict=False`` is passed over (the program that starts first, the CLI or the
        app's server, reports it; everything after it keeps working on the defaults)."""
        env = os.environ if environ is None else environ
        values = {}
        for field, conv, low in cls.FIELDS:
            key = "PLAYGROUND_" + field.upper()
            if key not in env:
                continue
            try:
                value = conv(env[key])
                if not value >= low:
                    raise ConfigError(key, f"{value} is too small; allowed {low:g} or more")
            except ValueError as error:
                if strict:
                    text = str(error) if isinstance(error, ConfigError) else f"{env[key]!r} is not a number"
                    raise ConfigError(key, text.removeprefix(f"{key}: ")) from None
                continue
            values[field] = value
        return cls(**values)


def _default(name: str) -> Any:
    return SETTINGS_BY_NAME[name].default


@dataclass(frozen=True)
class Config:
    """One run's settings: the fields of ``SETTINGS``, in their order, with their defaults."""

    style: str = _default("style")
    data: str = _default("data")
    n: int = _default("n")
    d_in: int = _default("d_in")
    hidden: int = _default("hidden")
    d_out: int = _default("d_out")
    lr: float = _default("lr")
    optimizer: str = _default("optimizer")
    momentum: float = _default("momentum")
    steps: int = _default("steps")
    seed: int = _default("seed")
    dtype: str = _default("dtype")
    device: str = _default("device")
    min_depth: int = _default("min_depth")
    max_depth: int = _default("max_depth")
    mistake: str = _default("mistake")
    threads: int = _default("threads")
    stats_every: int = _default("stats_every")
    hist_bins: int = _default("hist_bins")
    hist_every: int = _default("hist_every")

    @classmethod
    def for_style(cls, style: str, limits: Limits | None = None, **overrides: Any) -> Config:
        """The tutorial's defaults for ``style``, with ``overrides`` on top (validated)."""
        return cls.from_dict({**overrides, "style": style}, limits=limits)

    @classmethod
    def from_dict(cls, values: dict[str, Any], limits: Limits | None = None) -> Config:
        """Validate a mapping of setting names to values (missing ones take defaults).

        Defaults follow the style and the data: ``{"style": "optim"}`` gives Adam at 1e-4, and
        ``{"style": "optim", "data": "sin"}`` one input, one output and Adam's rate for the sine.
        """
        unknown = sorted(set(values) - set(SETTINGS_BY_NAME))
        if unknown:
            raise ConfigError(unknown[0], "unknown setting; known: " + ", ".join(SETTINGS_BY_NAME))
        style = SETTINGS_BY_NAME["style"].parse(values.get("style", _default("style")))
        data = SETTINGS_BY_NAME["data"].parse(values["data"] if values.get("data") is not None else _default("data"))
        merged = {
            **STYLE_DEFAULTS[style],
            **data_defaults(data, style),
            **{k: v for k, v in values.items() if v is not None},
        }
        parsed = {}
        for setting in SETTINGS:
            if setting.name in merged and merged[setting.name] is not None:
                if setting.name == "device":
                    parsed["device"] = parse_device(merged["device"])
                else:
                    parsed[setting.name] = setting.parse(merged[setting.name])
        config = cls(**parsed)
        config.check(limits or Limits.from_env(strict=False))
        return config

    def check(self, limits: Limits) -> None:
        """Checks that involve several fields: the rules between settings, and the memory limit."""
        refuse(self.to_dict())
        megabytes = self.estimated_mb()
        if megabytes > limits.max_run_mb:
            raise ConfigError(
                "size",
                f"n={self.n}, d_in={self.d_in}, hidden={self.hidden}, d_out={self.d_out} would need "
                f"about {megabytes:.0f} MB; this server allows {limits.max_run_mb:.0f} MB per run "
                "(PLAYGROUND_MAX_RUN_MB); make the sizes smaller",
            )

    def estimated_mb(self) -> float:
        """Rough memory for one run: data, weights with gradients, optimizer state, activations."""
        itemsize = 4 if self.dtype == "float32" else 8
        params = self.d_in * self.hidden + self.hidden * self.d_out + 2 * self.hidden + self.d_out
        if self.style == "dynamic":
            params += self.hidden * self.hidden + self.hidden
        layers = 1 + (self.max_depth if self.style == "dynamic" else 0)
        activations = 4 * self.n * self.hidden * layers + 4 * self.n * self.d_out
        data = self.n * self.d_in + self.n * self.d_out
        # weights, grads, a copy for the update ratio, two optimizer buffers (Adam)
        elements = data + 5 * params + activations
        # Problem generation makes float64 copies on the CPU first; every step's loss and depth is kept.
        return (elements * itemsize + (data + params) * 8 + self.steps * 9) / 2**20

    @property
    def uses_optimizer(self) -> bool:
        return self.style not in MANUAL_UPDATE_STYLES

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Config:
        return Config.from_dict({**self.to_dict(), **changes})


def parse_device(value: Any) -> str:
    """Check the *form* of a device name; whether it exists is ``devices.resolve``'s job."""
    text = str(value).strip().lower()
    if text in ("cpu", "cuda", "mps"):
        return text
    if text.startswith("cuda:") and text[5:].isascii() and text[5:].isdigit():
        return text
    raise ConfigError("device", f"{value!r} is not a device; allowed cpu, cuda, cuda:N or mps")


def lr_grid() -> list[float]:
    """The learning rates a log slider offers: 1, 2 and 5 per decade over the allowed range."""
    setting = SETTINGS_BY_NAME["lr"]
    low, high = math.floor(math.log10(setting.low)), math.ceil(math.log10(setting.high))
    grid = (float(f"{m}e{e}") for e in range(low, high + 1) for m in (1, 2, 5))
    return [lr for lr in grid if setting.low <= lr <= setting.high]


# ------------------------------------------------------------------ the rules between settings
#
# The one home of every rule that ties settings together. ``refuse`` raises on a broken rule
# (the CLI, config and run files: ``Config.check``); ``repair`` fixes the values and says what it
# changed (links, the sidebar, compare); ``unused`` says why a setting has no effect (the sidebar
# disables it). Adding a rule is one entry in ``RULES``.


@dataclass(frozen=True)
class Rule:
    """When ``broken(values)``, the setting ``field`` must instead be ``fix(values)``; ``why`` says so."""

    field: str
    broken: Callable[[dict], bool]
    fix: Callable[[dict], Any]
    why: Callable[[dict], str]


def _mistaken_styles(v: dict) -> tuple[str, ...]:
    return tuple(MISTAKE_REGISTRY[v["mistake"]].variants) if v["mistake"] in MISTAKE_REGISTRY else ()


RULES: tuple[Rule, ...] = (
    Rule(
        "optimizer",
        lambda v: v["style"] in MANUAL_UPDATE_STYLES and v["optimizer"] != "sgd",
        lambda v: "sgd",
        lambda v: (
            f"{v['optimizer']!r} does not apply to style {v['style']!r}, which updates its weights "
            "by hand (plain SGD); allowed sgd, or choose style optim, module or dynamic"
        ),
    ),
    Rule(
        "momentum",
        lambda v: v["optimizer"] in MOMENTUM_OPTIMIZERS and v["momentum"] <= 0,
        lambda v: 0.9,
        lambda v: f"{_fmt(v['momentum'])} must be above 0 for {v['optimizer']}; allowed above 0 to 0.999",
    ),
    Rule(
        "min_depth",
        lambda v: v["min_depth"] > v["max_depth"],
        lambda v: v["max_depth"],
        lambda v: f"{v['min_depth']} is more than max_depth {v['max_depth']}; allowed 0 to max_depth",
    ),
    Rule(
        "d_in",
        lambda v: v["data"] in CURVE_DATA and v["d_in"] != 1,
        lambda v: 1,
        lambda v: f"{v['d_in']} does not apply to data {v['data']!r}, which has one input x; allowed 1",
    ),
    Rule(
        "d_out",
        lambda v: v["data"] in CURVE_DATA and v["d_out"] != 1,
        lambda v: 1,
        lambda v: f"{v['d_out']} does not apply to data {v['data']!r}, which has one output y; allowed 1",
    ),
    Rule(
        "device",
        lambda v: v["style"] in NUMPY_STYLES and v["device"] != "cpu",
        lambda v: "cpu",
        lambda v: f"style {v['style']} runs on the CPU only, not {v['device']!r}; allowed cpu",
    ),
    Rule(
        "mistake",
        lambda v: v["mistake"] != "none" and v["style"] not in _mistaken_styles(v),
        lambda v: "none",
        lambda v: (
            f"{v['mistake']!r} does not apply to style {v['style']!r}; allowed none, or choose style "
            + " or ".join(_mistaken_styles(v))
        ),
    ),
)


def refuse(values: dict) -> None:
    """Raise ConfigError for the first rule that ``values`` (every setting) break."""
    for rule in RULES:
        if rule.broken(values):
            raise ConfigError(rule.field, rule.why(values))


def repair(values: dict, devices: list[str] | None = None) -> tuple[dict, list[str]]:
    """``values`` (every setting) with each broken rule fixed, and one note per change.

    ``devices``, where known, are the devices that exist: any other device becomes cpu.
    """
    values, notes = dict(values), []
    for rule in RULES:
        if rule.broken(values):
            fixed = rule.fix(values)
            notes.append(f"{rule.field}: {rule.why(values)}. Using {_fmt(fixed)}.")
            values[rule.field] = fixed
    if devices is not None and values["device"] not in devices:
        notes.append(f"device: {values['device']!r} is not available here; allowed {', '.join(devices)}. Using cpu.")
        values["device"] = "cpu"
    return values, notes


def unused(name: str, values: dict) -> str:
    """Why setting ``name`` has no effect with these values, or "" when it has one."""
    style = values["style"]
    if name == "optimizer" and style in MANUAL_UPDATE_STYLES:
        return f"not used by `{style}`, which updates its weights by hand (plain SGD)."
    if name == "momentum" and (style in MANUAL_UPDATE_STYLES or values["optimizer"] not in MOMENTUM_OPTIMIZERS):
        return "only SGD + momentum and Nesterov use it."
    if name == "d_in" and values["data"] in CURVE_DATA:
        extra = " (beside it the bias-free styles get a constant 1, their bias)" if style in BIAS_FREE_STYLES else ""
        return f"data `{values['data']}` has one input, x{extra}."
    if name == "d_out" and values["data"] in CURVE_DATA:
        return f"data `{values['data']}` has one output, y."
    if name == "device" and style in NUMPY_STYLES:
        return "NumPy runs on the CPU only."
    if name == "mistake" and not any(style in m.variants for m in MISTAKE_REGISTRY.values()):
        return f"no classic mistake is written for `{style}`."
    if name in ("min_depth", "max_depth") and style != "dynamic":
        return "only DynamicNet draws a depth each step."
    return ""
