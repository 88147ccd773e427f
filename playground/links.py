"""Settings in a link: a page URL's query parameters to a Config and back.

Parameter names are the CLI's option names with underscores (``?style=optim&lr=0.001``),
so a link and a command line read alike. A link is input from anywhere, so
every value is checked like any other input; a bad one never stops the page:
it is replaced (an out-of-range number is clamped, anything else takes its
default) and a warning says what was replaced and why.
"""

from __future__ import annotations

import math
from typing import Any

from .config import SETTINGS_BY_NAME, Config, ConfigError, Limits, parse_device, repair

#: The settings a link carries: everything that defines a run.
LINK_SETTINGS = (
    "style",
    "data",
    "lr",
    "optimizer",
    "momentum",
    "n",
    "d_in",
    "hidden",
    "d_out",
    "dtype",
    "device",
    "min_depth",
    "max_depth",
    "mistake",
    "steps",
    "seed",
)
#: Parameters that are not run settings but may appear in a link.
PAGE_PARAMETERS = ("lecture", "hide", "speed")


def to_query(cfg: Config) -> dict[str, str]:
    """The query parameters of a config (every link setting, as text)."""
    return {name: _text(getattr(cfg, name)) for name in LINK_SETTINGS}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _first(value: Any) -> Any:
    if isinstance(value, (list, tuple)):  # ?lr=1&lr=2: the first one counts
        return value[0] if value else ""
    return value


def _chosen(name: str, raw: dict[str, Any], warnings: list[str]) -> Any:
    """The link's value of a setting that others' defaults depend on (style, data), else its default."""
    setting = SETTINGS_BY_NAME[name]
    if name in raw:
        try:
            return setting.parse(raw[name])
        except ConfigError as error:
            warnings.append(f"{error}. Using {setting.default}.")
    return setting.default


def from_query(
    params: dict[str, Any], available_devices: list[str] | None = None, limits: Limits | None = None
) -> tuple[Config, list[str]]:
    """A valid Config from query parameters, and one warning per value that was replaced."""
    warnings: list[str] = []
    raw = {k: _first(v) for k, v in params.items()}
    for name in sorted(set(raw) - set(LINK_SETTINGS) - set(PAGE_PARAMETERS)):
        warnings.append(f"Ignored the unknown link parameter {name!r}.")

    style = _chosen("style", raw, warnings)
    data = _chosen("data", raw, warnings)
    defaults = Config.for_style(style, data=data).to_dict()  # a curve's sizes and rate, where it is one

    values: dict[str, Any] = {"style": style, "data": data}
    for name in LINK_SETTINGS[2:]:
        if name not in raw:
            continue
        setting = SETTINGS_BY_NAME[name]
        try:
            values[name] = parse_device(raw[name]) if name == "device" else setting.parse(raw[name])
        except ConfigError as error:
            clamped = _clamp(setting, raw[name])
            if clamped is None:
                warnings.append(f"{error}. Using the default, {_text(defaults[name])}.")
            else:
                values[name] = clamped
                warnings.append(f"{error}. Using {_text(clamped)}, the nearest allowed value.")

    values, notes = repair({**defaults, **values}, available_devices)
    warnings += notes
    try:
        return Config.from_dict(values, limits=limits), warnings
    except ConfigError as error:  # e.g. sizes over this server's memory limit
        sizes = ("n", "d_in", "hidden", "d_out")
        warnings.append(f"{error}. Using the tutorial's sizes.")
        values = {k: v for k, v in values.items() if k not in sizes}
        try:
            return Config.from_dict(values, limits=limits), warnings
        except ConfigError as again:
            warnings.append(f"{again}. Using the tutorial's defaults for {style}.")
            return Config.for_style(style, data=data, limits=limits), warnings


def _clamp(setting, value: Any):
    """An out-of-range number moved into range; None for anything that is not a number."""
    if setting.choices or setting.low is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(number):
        return None
    number = min(max(number, setting.low), setting.high)
    if setting.kind is int:
        return int(round(number))
    return number
