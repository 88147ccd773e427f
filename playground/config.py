"""One run configuration, checked: ``Config``, the rules between settings, the server's limits.

Every setting is declared once, in ``settings.SETTINGS``; ``Config``'s fields and defaults are
made from that list, and ``Config.from_dict`` validates any input against it. A bad value raises
``ConfigError``, whose message names the field, the value and what is allowed. The rules between
settings (``RULES``) are refused here, repaired for links and the sidebar, and say when a
setting has no effect.

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

from .settings import (
    CURVE_DATA,
    DATA,
    DATA_LABELS,
    DTYPES,
    MISTAKE_LABELS,
    MISTAKES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    SETTINGS,
    STYLE_LABELS,
    STYLES,
    ConfigError,
    Setting,
    fmt,
)
from .styles import MISTAKES as MISTAKE_REGISTRY
from .styles import STYLES as REGISTRY

__all__ = [  # what other modules take from here, settings' names included
    "BIAS_FREE_STYLES",
    "CURVE_DATA",
    "DATA",
    "DATA_LABELS",
    "DTYPES",
    "LINK_SETTINGS",
    "LIVE_SETTINGS",
    "MANUAL_UPDATE_STYLES",
    "MISTAKES",
    "MISTAKE_LABELS",
    "MOMENTUM_OPTIMIZERS",
    "NUMPY_STYLES",
    "OPTIMIZERS",
    "OPTIMIZER_LABELS",
    "SETTINGS",
    "SETTINGS_BY_NAME",
    "STYLES",
    "STYLE_LABELS",
    "Config",
    "ConfigError",
    "Limits",
    "Setting",
]

#: Styles that train with NumPy (the others train with torch).
NUMPY_STYLES = tuple(name for name, info in REGISTRY.items() if info.trains_with_numpy)

#: Styles that update their weights by hand, without ``torch.optim``.
MANUAL_UPDATE_STYLES = tuple(name for name, info in REGISTRY.items() if info.updates_by_hand)

#: Styles whose network has no biases (x.mm(w1), as the tutorial's first cells).
BIAS_FREE_STYLES = tuple(name for name, info in REGISTRY.items() if info.bias_free)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}

#: The settings a link carries: everything that defines a run.
LINK_SETTINGS = tuple(s.name for s in SETTINGS if s.in_link)

#: Settings that may change during a run, from the next step on (a run records each change).
LIVE_SETTINGS = tuple(s.name for s in SETTINGS if s.live)

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


class _Config:
    """One run's settings: the fields of ``SETTINGS``, in their order, with their defaults (made
    into the frozen dataclass ``Config`` below)."""

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
        style = SETTINGS_BY_NAME["style"].parse(values.get("style", SETTINGS_BY_NAME["style"].default))
        data = values["data"] if values.get("data") is not None else SETTINGS_BY_NAME["data"].default
        data = SETTINGS_BY_NAME["data"].parse(data)
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
        config = Config(**parsed)
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


Config = dataclasses.make_dataclass(
    "Config",
    [(s.name, s.kind, dataclasses.field(default=s.default)) for s in SETTINGS],
    bases=(_Config,),
    frozen=True,
)
Config.__module__, Config.__doc__ = __name__, _Config.__doc__  # so that pickle finds it


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


def _never(values: dict) -> bool:
    return False


def _no_reason(values: dict) -> str:
    return ""


@dataclass(frozen=True)
class Rule:
    """When ``broken(values)``, the setting ``field`` must instead be ``fix(values)``; ``why`` says
    so. ``unused(values)`` says why ``field`` has no effect with these values ("" when it has one)."""

    field: str
    broken: Callable[[dict], bool] = _never
    fix: Callable[[dict], Any] = _no_reason
    why: Callable[[dict], str] = _no_reason
    unused: Callable[[dict], str] = _no_reason


def pinned(field: str, value: Any, when: Callable[[dict], bool], why, unused) -> Rule:
    """A rule for a setting that has no effect ``when`` the others say so, and must then be ``value``."""
    return Rule(
        field,
        broken=lambda v: when(v) and v[field] != value,
        fix=lambda v: value,
        why=why,
        unused=lambda v: unused(v) if when(v) else "",
    )


def _manual(v: dict) -> bool:
    return v["style"] in MANUAL_UPDATE_STYLES


def _curve(v: dict) -> bool:
    return v["data"] in CURVE_DATA


def _mistaken_styles(v: dict) -> tuple[str, ...]:
    return tuple(MISTAKE_REGISTRY[v["mistake"]].variants) if v["mistake"] in MISTAKE_REGISTRY else ()


def _depth_unused(v: dict) -> str:
    return "" if v["style"] == "dynamic" else "only DynamicNet draws a depth each step."


def _ones(v: dict) -> str:
    return " (beside it the bias-free styles get a constant 1, their bias)" if v["style"] in BIAS_FREE_STYLES else ""


def _backward_refused(v: dict) -> str:
    """Why the run cannot train with its written backward pass (``inspection/written.py``), or ""."""
    if not v.get("backward"):
        return ""
    from .inspection import written

    if v["style"] not in written.BACKENDS:
        return f"a backward pass by hand is written for style numpy or tensor, not {v['style']!r}"
    if v["mistake"] != "none":
        return f"your backward pass replaces the cell's, so it does not go with mistake {v['mistake']!r}"
    ones = 1 if v["data"] in CURVE_DATA and v["style"] in BIAS_FREE_STYLES else 0
    shapes = written.shapes_of(v["n"], v["d_in"] + ones, v["hidden"], v["d_out"])
    try:
        written.for_training(v["backward"], shapes, written.BACKENDS[v["style"]])
    except written.Refused as refused:
        return str(refused)
    return ""


RULES: tuple[Rule, ...] = (
    pinned(
        "optimizer",
        "sgd",
        _manual,
        lambda v: (
            f"{v['optimizer']!r} does not apply to style {v['style']!r}, which updates its weights "
            "by hand (plain SGD); allowed sgd, or choose style optim, module or dynamic"
        ),
        lambda v: f"not used by `{v['style']}`, which updates its weights by hand (plain SGD).",
    ),
    Rule(
        "momentum",
        lambda v: v["optimizer"] in MOMENTUM_OPTIMIZERS and v["momentum"] <= 0,
        lambda v: 0.9,
        lambda v: f"{fmt(v['momentum'])} must be above 0 for {v['optimizer']}; allowed above 0 to 0.999",
        lambda v: (
            "only SGD + momentum and Nesterov use it."
            if _manual(v) or v["optimizer"] not in MOMENTUM_OPTIMIZERS
            else ""
        ),
    ),
    Rule(
        "min_depth",
        lambda v: v["min_depth"] > v["max_depth"],
        lambda v: v["max_depth"],
        lambda v: f"{v['min_depth']} is more than max_depth {v['max_depth']}; allowed 0 to max_depth",
        _depth_unused,
    ),
    Rule("max_depth", unused=_depth_unused),
    pinned(
        "d_in",
        1,
        _curve,
        lambda v: f"{v['d_in']} does not apply to data {v['data']!r}, which has one input x; allowed 1",
        lambda v: f"data `{v['data']}` has one input, x{_ones(v)}.",
    ),
    pinned(
        "d_out",
        1,
        _curve,
        lambda v: f"{v['d_out']} does not apply to data {v['data']!r}, which has one output y; allowed 1",
        lambda v: f"data `{v['data']}` has one output, y.",
    ),
    pinned(
        "device",
        "cpu",
        lambda v: v["style"] in NUMPY_STYLES,
        lambda v: f"style {v['style']} runs on the CPU only, not {v['device']!r}; allowed cpu",
        lambda v: "NumPy runs on the CPU only.",
    ),
    Rule(
        "mistake",
        lambda v: v["mistake"] != "none" and v["style"] not in _mistaken_styles(v),
        lambda v: "none",
        lambda v: (
            f"{v['mistake']!r} does not apply to style {v['style']!r}; allowed none, or choose style "
            + " or ".join(_mistaken_styles(v))
        ),
        lambda v: (
            ""
            if any(v["style"] in m.variants for m in MISTAKE_REGISTRY.values())
            else f"no classic mistake is written for `{v['style']}`."
        ),
    ),
    Rule(
        "backward",
        lambda v: bool(_backward_refused(v)),
        lambda v: "",
        _backward_refused,
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
            notes.append(
                f"{rule.field}: {rule.why(values)}. Using {fmt(fixed) if fixed != '' else 'the cell as it is'}."
            )
            values[rule.field] = fixed
    if devices is not None and values["device"] not in devices:
        notes.append(f"device: {values['device']!r} is not available here; allowed {', '.join(devices)}. Using cpu.")
        values["device"] = "cpu"
    return values, notes


def unused(name: str, values: dict) -> str:
    """Why setting ``name`` has no effect with these values, or "" when it has one (its rules say)."""
    return next((why for rule in RULES if rule.field == name and (why := rule.unused(values))), "")
