"""A page's link: its URL's query parameters, read and written in one place.

    link, warnings = Link.from_query(st.query_params.to_dict(), devices, limits)
    link.config, link.lecture, link.hide, link.speed
    link.to_query()          # the parameters that say the same, as the page writes them

A link holds the run settings (``config.LINK_SETTINGS``, under the command line's option names
with underscores: ``?style=optim&lr=0.001``, so a link and a command line read alike) and the
page's own parameters (``PAGE_PARAMETERS``): lecture mode, the controls it hides, the speed. A
link is input from anywhere, so every value is checked like any other input; a bad one never
stops the page: it is replaced (an out-of-range number is clamped, anything else takes its
default) and a warning says what was replaced and why. Two links mean the same when they write
the same query (``to_query``): a link that leaves a default out means what it means with it.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from dataclasses import dataclass
from typing import Any

from .config import (
    CURVE_DATA,
    LINK_SETTINGS,
    SETTINGS,
    SETTINGS_BY_NAME,
    Config,
    ConfigError,
    Limits,
    parse_device,
    repair,
)

#: Parameters of the page, not of the run: lecture mode, the controls it hides, slow motion.
PAGE_PARAMETERS = ("lecture", "hide", "speed", "predict")

#: How a link says yes (``?lecture=1``).
YES = ("1", "true", "yes", "on")

#: Slow motion: its range in steps a second, the speed a curve starts with (500 steps in 10 s:
#: a curve trains in a blink otherwise), and the speed slow motion offers until one is chosen.
SPEED_LOW, SPEED_HIGH = 1, 200
CURVE_SPEED = 50
DEFAULT_CAP = 20

#: A text setting (your backward pass) travels compressed (zlib, then URL-safe base64), at most
#: this many characters of it: past that, the link leaves it out and the page says to export the run.
TEXT_LINK_CHARS = 2000
UNPACKED_CHARS = 64_000  # the most a link's text unpacks to, read; the setting's own bound is lower

#: The controls lecture mode can hide (``?hide=lr,seed``): the sidebar's, by ``Setting.control``
#: (the two depths are one control), and the speed.
HIDEABLE = (*dict.fromkeys(s.control_name for s in SETTINGS if s.sidebar and s.hideable), "speed")


def flag(text: str | None) -> bool:
    """Whether a link's value says yes."""
    return str(text or "").strip().lower() in YES


def default_speed(data: str) -> int | None:
    """The speed a run starts with: slow motion on a curve, as fast as possible otherwise (None)."""
    return CURVE_SPEED if data in CURVE_DATA else None


@dataclass(frozen=True)
class Link:
    """What a page's URL says: the run's settings, lecture mode and its hidden controls, the speed."""

    config: Config
    lecture: bool = False
    hide: tuple[str, ...] = ()  # kept while lecture mode is off, but only meant with it
    speed: int | None = None  # slow motion's steps a second; None: as fast as possible
    predict: bool | None = None  # Train asks for a prediction first; None: the default (``predicts``)

    @property
    def predicts(self) -> bool:
        """Whether Train asks first: as the link says, else in lecture mode and for a mistake."""
        return self.predict if self.predict is not None else self.lecture or self.config.mistake != "none"

    @classmethod
    def from_query(
        cls, params: dict[str, Any], devices: list[str] | None = None, limits: Limits | None = None
    ) -> tuple[Link, list[str]]:
        """The link of query parameters (the first of repeated ones counts), and one warning per
        value it replaced. ``devices``: those that exist here (any other is replaced by cpu)."""
        raw = {k: _first(v) for k, v in params.items()}
        warnings = [f"Ignored the unknown link parameter {name!r}." for name in sorted(set(raw) - set(_KNOWN))]
        config = _config(raw, devices, limits, warnings)
        asked = [h.strip() for h in str(raw.get("hide", "")).split(",") if h.strip()]
        for h in sorted(set(asked) - set(HIDEABLE)):
            warnings.append(f"hide: {h!r} is not a control; allowed {', '.join(HIDEABLE)}.")
        hide = tuple(h for h in dict.fromkeys(asked) if h in HIDEABLE)
        speed = _speed(raw.get("speed"), config.data, warnings)
        predict = None if raw.get("predict") is None else flag(raw.get("predict"))
        return cls(config, flag(raw.get("lecture")), hide, speed, predict), warnings

    def to_query(self) -> dict[str, str]:
        """The query parameters of this link: every run setting, and the page's own parameters
        where they are not the defaults."""
        query = {name: _text(getattr(self.config, name)) for name in LINK_SETTINGS if not SETTINGS_BY_NAME[name].text}
        for name in (n for n in LINK_SETTINGS if SETTINGS_BY_NAME[n].text and getattr(self.config, n)):
            packed = pack_text(getattr(self.config, name))
            if len(packed) <= TEXT_LINK_CHARS:
                query[name] = packed
        if self.lecture:
            query["lecture"] = "1"
            if self.hide:
                query["hide"] = ",".join(self.hide)
        if self.speed != default_speed(self.config.data):
            query["speed"] = "fast" if self.speed is None else str(self.speed)
        if self.predicts != Link(self.config, self.lecture).predicts:
            query["predict"] = "1" if self.predicts else "0"
        return query

    def means(self, params: dict[str, Any], devices: list[str] | None = None, limits: Limits | None = None) -> bool:
        """Whether query parameters ``params`` say what this link says, however they are written."""
        return Link.from_query(params, devices, limits)[0].to_query() == self.to_query()


_KNOWN = (*LINK_SETTINGS, *PAGE_PARAMETERS)


def to_query(cfg: Config) -> dict[str, str]:
    """The query parameters of a config alone (every link setting, as text)."""
    return Link(cfg, speed=default_speed(cfg.data)).to_query()


def from_query(
    params: dict[str, Any], available_devices: list[str] | None = None, limits: Limits | None = None
) -> tuple[Config, list[str]]:
    """The run settings of query parameters, and one warning per value that was replaced."""
    link, warnings = Link.from_query(params, available_devices, limits)
    return link.config, warnings


def pack_text(text: str) -> str:
    """A text setting as a link writes it: compressed, URL-safe, without padding."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")


def unpack_text(name: str, packed: Any) -> str:
    """A text setting from a link (``pack_text``), refused with its name when it is not one."""
    packed = str(_first(packed)).strip()
    if len(packed) > TEXT_LINK_CHARS:
        raise ConfigError(name, f"the link's {len(packed):,} characters are more than {TEXT_LINK_CHARS:,}")
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, UNPACKED_CHARS)  # at most this much, however it was packed
        if not inflater.eof and not inflater.unconsumed_tail:
            raise ValueError
    except (binascii.Error, zlib.error, ValueError):
        raise ConfigError(name, "the link's text is not one this page wrote (or it was cut short)") from None
    if inflater.unconsumed_tail:
        raise ConfigError(name, f"the link's text unpacks to more than {UNPACKED_CHARS:,} characters")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(name, "the link's text is not text (UTF-8)") from None


def text_left_out(cfg: Config) -> list[str]:
    """The text settings of ``cfg`` too long for a link (``TEXT_LINK_CHARS``)."""
    return [
        name
        for name in LINK_SETTINGS
        if SETTINGS_BY_NAME[name].text and getattr(cfg, name) and len(pack_text(getattr(cfg, name))) > TEXT_LINK_CHARS
    ]


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


def _config(raw: dict, devices: list[str] | None, limits: Limits | None, warnings: list[str]) -> Config:
    """The run settings of a link, each checked, the rules between them repaired."""
    style = _chosen("style", raw, warnings)
    data = _chosen("data", raw, warnings)
    defaults = Config.for_style(style, data=data).to_dict()  # a curve's sizes and rate, where it is one
    values: dict[str, Any] = {"style": style, "data": data}
    for name in (n for n in LINK_SETTINGS if n in raw and n not in values):
        setting = SETTINGS_BY_NAME[name]
        try:
            if name == "device":
                values[name] = parse_device(raw[name])
            elif setting.text:
                values[name] = setting.parse(unpack_text(name, raw[name]))
            else:
                values[name] = setting.parse(raw[name])
        except ConfigError as error:
            clamped = _clamp(setting, raw[name])
            if clamped is None:
                shown = "the cell as it is" if setting.text else _text(defaults[name])
                warnings.append(f"{error}. Using the default, {shown}.")
            else:
                values[name] = clamped
                warnings.append(f"{error}. Using {_text(clamped)}, the nearest allowed value.")
    values, notes = repair({**defaults, **values}, devices)
    warnings += notes
    try:
        return Config.from_dict(values, limits=limits)
    except ConfigError as error:  # e.g. sizes over this server's memory limit
        warnings.append(f"{error}. Using the tutorial's sizes.")
        values = {k: v for k, v in values.items() if k not in ("n", "d_in", "hidden", "d_out")}
        try:
            return Config.from_dict(values, limits=limits)
        except ConfigError as again:
            warnings.append(f"{again}. Using the tutorial's defaults for {style}.")
            return Config.for_style(style, data=data, limits=limits)


def _speed(text: Any, data: str, warnings: list[str]) -> int | None:
    """A link's ``speed``: ``fast`` (None), or slow motion's steps a second; the data's default
    when it is missing or bad (with a warning)."""
    if text is None:
        return default_speed(data)
    text = str(text).strip()
    if text.lower() == "fast":
        return None
    try:
        cap = int(text)
    except ValueError:
        cap = None
    if cap is None or not SPEED_LOW <= cap <= SPEED_HIGH:
        using = default_speed(data)
        warnings.append(
            f"speed: {text!r} is not fast or a whole number of steps a second from {SPEED_LOW} to "
            f"{SPEED_HIGH}; using {'fast' if using is None else using}."
        )
        return using
    return cap


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
