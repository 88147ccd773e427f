"""The settings on the page: read from its link, kept in the session, drawn in the sidebar, and
written back to the URL.

The widgets hold the run settings under their config names (``st.session_state.lr``, ...). The
sidebar draws one widget per setting that has one (``Setting.sidebar``), in the order of
``SETTINGS``. ``reconcile`` applies the rules between settings (``config.repair``) before the
sidebar is drawn, and ``wanted_config`` turns the widgets into a checked Config. The URL is a
``links.Link``: read on the session's first run and after Back, written when it no longer says
what the page shows.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from ..config import (
    CURVE_DATA,
    CURVE_SIZES,
    LINK_SETTINGS,
    MISTAKES,
    SETTINGS,
    SETTINGS_BY_NAME,
    STYLE_DEFAULTS,
    Config,
    ConfigError,
    lr_grid,
    repair,
    unused,
)
from ..links import CURVE_SPEED, DEFAULT_CAP, HIDEABLE, SPEED_HIGH, SPEED_LOW, Link
from ..styles import MISTAKES as MISTAKE_REGISTRY
from ..styles import STYLES as STYLE_INFO
from .shared import shared

RUN_SETTINGS = LINK_SETTINGS  # a link carries exactly the settings that define a run
FAST, SLOW = SPEED_MODES = ("As fast as possible", "Slow motion")


def mistakes_for(style: str) -> list[str]:
    """The choices of the mistake setting for ``style``: none, and the mistakes written for it."""
    return [name for name in MISTAKES if name == "none" or style in MISTAKE_REGISTRY[name].variants]


def init_state() -> None:
    """Settings from the page's URL: a link, on the session's first run; an earlier URL of the page
    after Back (or Forward), which undoes the settings changes since. Otherwise the session's."""
    ss = st.session_state
    ss.setdefault("notices", [])
    ss.setdefault("warnings", [])
    params = st.query_params.to_dict()
    first = "style" not in ss
    if first:
        if params.get("device", "cpu") != "cpu":  # the link asks for a GPU: wait to know whether one exists
            shared().devices_known.wait(timeout=30)
        ss.warnings += [f"From the link: {w}" for w in read_link(params)]
        ss.show_diff = ss.lecture  # lecture mode shows what changed from the previous cell
    ss.went_back = not first and params != ss.get("url")
    if ss.went_back:  # the browser went Back (or Forward) to another of the page's URLs
        before = page_settings()
        read_link(params)
        after = page_settings()
        changed = [
            f"{name} {_shown(before[name])} → {_shown(after[name])}" for name in before if before[name] != after[name]
        ]
        if changed:
            ss.notices.append(f"Back to earlier settings: {', '.join(changed)}.")
    ss.url = params
    ss.setdefault("hist_kind", "gradients")
    ss.setdefault("client", None)  # the run (actions.py)
    ss.setdefault("run_token", None)  # its token (visits.py)


def page_settings() -> dict:
    """What a page's URL holds: the run settings, lecture mode and its hidden controls, the speed."""
    ss = st.session_state
    values = {name: ss[name] for name in RUN_SETTINGS}
    return {**values, "lecture": ss.lecture, "hide": list(ss.hide), "speed": speed_text()}


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(value) or "none"
    return str(value)


def read_link(params: dict) -> list[str]:
    """Set the run settings, lecture mode, the hidden controls and the speed from a URL's query
    parameters, each checked (``links.Link``); returns a warning for each value it replaced."""
    ss = st.session_state
    link, warnings = Link.from_query(params, shared().devices[0], shared().limits)
    for name in RUN_SETTINGS:
        ss[name] = getattr(link.config, name)
    if link.lecture != ss.get("lecture"):
        ss.show_diff = link.lecture
    ss.lecture, ss.hide = link.lecture, list(link.hide)
    ss.predict_first = link.predicts
    ss.speed_mode = FAST if link.speed is None else SLOW
    ss.speed_cap = link.speed or (CURVE_SPEED if link.config.data in CURVE_DATA else DEFAULT_CAP)
    return warnings


def speed_text() -> str:
    """The speed as a link writes it."""
    ss = st.session_state
    return "fast" if ss.speed_mode == FAST else str(int(ss.speed_cap))


def reconcile() -> None:
    """Apply the rules between settings to the widgets' values, before the widgets are drawn."""
    ss = st.session_state
    devices = shared().devices[0] if shared().devices_known.is_set() else None
    values, notes = repair({name: ss[name] for name in RUN_SETTINGS}, devices)
    for name in RUN_SETTINGS:
        if ss[name] != values[name]:
            ss[name] = values[name]
    ss.notices += notes


def loaded_with(name: str, style: str) -> tuple[str, ...]:
    """The settings that choosing ``name`` (a style, data) loads defaults for."""
    if name == "style":
        return (*STYLE_DEFAULTS[style], "momentum", "dtype")
    if name == "data":
        return (*CURVE_SIZES, "lr")
    return ()


def on_style_change() -> None:
    """Choosing a style loads its tutorial defaults (learning rate, optimizer, precision); on a
    curve, the style's learning rate for it."""
    ss = st.session_state
    defaults = Config.for_style(ss.style, data=ss.data).to_dict()
    for name in loaded_with("style", ss.style):
        ss[name] = defaults[name]
    ss.notices.append(f"Loaded the tutorial's defaults for {STYLE_INFO[ss.style].title}.")


def on_data_change() -> None:
    """Choosing data loads its sizes (a curve: one input, one output) and the style's learning rate for it."""
    ss = st.session_state
    defaults = Config.for_style(ss.style, data=ss.data).to_dict()
    for name in loaded_with("data", ss.style):
        ss[name] = defaults[name]
    sizes = ", ".join(f"{name} {defaults[name]}" for name in CURVE_SIZES)
    ss.notices.append(f"Loaded the defaults for data {ss.data}: {sizes}, learning rate {defaults['lr']:g}.")
    if ss.data in CURVE_DATA:  # a few thousand steps a second: slow motion, to watch the fit
        ss.speed_mode, ss.speed_cap = SLOW, CURVE_SPEED
        ss.notices.append(f"Slow motion, {CURVE_SPEED} steps a second: a curve trains in a blink otherwise.")
    else:
        ss.speed_mode = FAST


def on_lecture_change() -> None:
    """Lecture mode shows what changed from the previous cell; leaving it shows the file again."""
    st.session_state.show_diff = st.session_state.lecture


# Every widget below is keyed by its setting's name and is also given the setting's current value
# (the `value`, `index` or `default` argument): the browser draws a widget first with that
# argument and only a moment later with the value its session holds, so without it a link's
# hidden=50 showed as 1 (the minimum) for up to half a second. A keyed widget's identity is its
# key, so a changing value does not reset it.
#
# persist_state="session": Streamlit keeps a widget's value while lecture mode hides it.
# (Assigning every setting to itself each run kept them too, but made every rerun send all values
# back to the browser, which replaced a learner's edit in flight: keys pressed on a slider during
# a rerun were lost.)


def _index(options, name: str) -> int:
    """Where the setting's current value is among ``options`` (the first when it is not there)."""
    value = st.session_state[name]
    options = list(options)
    return options.index(value) if value in options else 0


def _widget(container, name: str, options=None, **kwargs) -> None:
    """The setting's widget, keyed by its name, with its label, help, and range or choices from the
    setting (``options``: choices known only here, the devices)."""
    s = SETTINGS_BY_NAME[name]
    value = st.session_state[name]
    kwargs = {"key": name, "help": s.widget_help or None, "persist_state": "session", **kwargs}
    options = options or s.choices
    if options:
        labels = s.choice_labels.get if s.choice_labels else str
        container.selectbox(s.label, options, _index(options, name), format_func=labels, **kwargs)
    elif s.kind is int:
        container.number_input(s.label, int(s.low), int(s.high), int(value), step=int(s.step or 1), **kwargs)
    elif name == "lr":  # a log scale; a link's exact value stays among its stops
        stops = sorted({*lr_grid(), value})
        container.select_slider(s.label, stops, value, format_func=lambda v: f"{v:.2g}", **kwargs)
    else:
        container.slider(s.label, s.low, s.high, float(value), step=s.step, **kwargs)


#: Widgets that need more than their setting: what choosing a style or data loads.
ON_CHANGE = {"style": on_style_change, "data": on_data_change}


def _options(name: str) -> tuple[list | None, str]:
    """Choices known only on the page, and a caption under them: the devices that exist, the
    mistakes written for the style."""
    ss = st.session_state
    if name == "device":
        available, why_no_cuda = shared().devices
        if not shared().devices_known.is_set() and ss.device not in available:
            available = [*available, ss.device]  # until the check answers, keep the link's choice
        return available, why_no_cuda
    if name == "mistake":
        return mistakes_for(ss.style), ""
    return None, ""


def _rows() -> list[list]:
    """The sidebar's settings in their order, those that share a row together."""
    rows: list[list] = []
    for setting in (s for s in SETTINGS if s.sidebar):
        if rows and setting.row and rows[-1][0].row == setting.row:
            rows[-1].append(setting)
        else:
            rows.append([setting])
    return rows


def _settings_widgets(sb, hidden: set[str]) -> None:
    """A widget per setting, in rows; where a setting has no effect, disabled, with one caption per
    control that says why (headed by its label, or the control's name for several: "Depth")."""
    values = {name: st.session_state[name] for name in RUN_SETTINGS}
    captioned: set[str] = set()
    for row in _rows():
        places = sb.columns(2) if len(row) > 1 else [sb]
        for i, setting in enumerate(row):
            control = setting.control_name
            if setting.hideable and control in hidden:
                continue
            reason = unused(setting.name, values)
            options, caption = _options(setting.name)
            container = places[i % len(places)]
            _widget(container, setting.name, options, disabled=bool(reason), on_change=ON_CHANGE.get(setting.name))
            if reason and control not in captioned:
                shared_by = sum(1 for s in SETTINGS if s.control_name == control)
                sb.caption(f"{setting.label if shared_by == 1 else control.capitalize()}: {reason}")
                captioned.add(control)
            elif caption and not reason:
                sb.caption(caption)


def sidebar() -> None:
    ss = st.session_state
    hidden = set(ss.hide) if ss.lecture else set()
    sb = st.sidebar
    sb.header("Settings")
    _settings_widgets(sb, hidden)
    if "speed" not in hidden:
        sb.radio(
            "Speed",
            SPEED_MODES,
            _index(SPEED_MODES, "speed_mode"),
            key="speed_mode",
            horizontal=True,
            persist_state="session",
        )
        sb.slider(
            "Steps per second",
            SPEED_LOW,
            SPEED_HIGH,
            int(ss.speed_cap),
            key="speed_cap",
            disabled=ss.speed_mode != SLOW,
            persist_state="session",
        )
    sb.divider()
    sb.toggle(
        "Lecture mode",
        bool(ss.lecture),
        key="lecture",
        persist_state="session",
        on_change=on_lecture_change,
        help="Big type and charts for a projector; the eight tutorial "
        "cells as presets; hides the controls you choose below.",
    )
    if ss.lecture:
        sb.multiselect("Hide in lecture mode", HIDEABLE, ss.hide, key="hide", persist_state="session")


def wanted_config() -> tuple[Config | None, str]:
    """The config the widgets describe, or None and the validation message."""
    ss = st.session_state
    try:
        return Config.from_dict({name: ss[name] for name in RUN_SETTINGS}, limits=shared().limits), ""
    except ConfigError as error:
        return None, str(error)


def speed() -> float | None:
    """Steps per second in slow motion; None: as fast as possible."""
    ss = st.session_state
    return float(ss.speed_cap) if ss.speed_mode == SLOW else None


def page_link(cfg: Config) -> Link:
    """What this page's URL should say: the run settings, lecture mode, its hidden controls, the speed."""
    ss = st.session_state
    speed = int(ss.speed_cap) if ss.speed_mode == SLOW else None
    return Link(cfg, bool(ss.lecture), tuple(ss.hide), speed, bool(ss.get("predict_first")))


def share_link(cfg: Config) -> None:
    """Keep the page's URL equal to the settings, and offer the link to copy.

    The URL is written only when it no longer says what the page shows: each write is a step the
    browser's Back undoes (``init_state``), so opening the page, or a link that leaves settings
    out, adds none.
    """
    link = page_link(cfg)
    query = link.to_query()
    ss = st.session_state
    params = st.query_params.to_dict()
    if params != query and not link.means(params, shared().devices[0], shared().limits):
        st.query_params.from_dict(query)
        params = query
    ss.url = params
    base = str(st.context.url or "").split("?")[0] or "http://localhost:8501/"
    with st.sidebar.expander("Share this setup"):
        st.caption("This link reopens these settings (copy button at the right of the box):")
        st.code(f"{base}?{urlencode(query)}", language=None, wrap_lines=True)
