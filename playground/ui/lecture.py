"""Lecture mode: a page that fits a projector, and the eight tutorial cells as one-click presets.

It also lists the keyboard shortcuts beside the run buttons and shows the code panel as what
changed from the previous cell (``code.py``), both from ``settings.py`` and ``actions.py``.

At 1280x720 and 1024x768 (tests/test_browser_lecture.py checks both): the sidebar starts
folded away, type is larger where the audience reads (metrics, buttons, the notice, captions)
but the page's paddings stay as they are, and the cells are pills, which wrap instead of
cutting their labels. The buttons, the metrics and most of the loss chart fit the first screen.
"""

from __future__ import annotations

import streamlit as st

from ..config import CURVE_DATA, STYLES
from ..links import flag
from ..styles import MISTAKES
from ..styles import STYLES as STYLE_INFO
from .sidebar import mistakes_for, on_style_change

CSS = """
<style>
  [data-testid="stMainBlockContainer"] { padding-top: 1.25rem; padding-bottom: 2rem; max-width: 100%; }
  [data-testid="stHeader"] { background: transparent; pointer-events: none; }
  [data-testid="stHeader"] * { pointer-events: auto; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding: 0 0 0.25rem 0; }
  [data-testid="stMainBlockContainer"] h2 { font-size: 1.35rem; padding: 0.25rem 0; }
  [data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li { font-size: 1.2rem; }
  [data-testid="stMainBlockContainer"] button p { font-size: 1.15rem; }
  [data-testid="stMetricValue"], [data-testid="stMetricValue"] * { font-size: 2.6rem !important; line-height: 1.15; }
  [data-testid="stMetricLabel"] p { font-size: 1.15rem !important; }
  [data-testid="stCaptionContainer"] p { font-size: 1rem !important; }
  code { font-size: 1rem !important; }
  /* The walk's maths and code, read across the room: the equation above the metrics' labels. */
  .st-key-walk_stop .katex { font-size: 1.6rem; }
  .st-key-walk_stop .bp-diff { font-size: 1.25rem; }
  [data-testid="stMainBlockContainer"] [data-testid="stAlert"] > div { padding-top: 0.5rem; padding-bottom: 0.5rem; }
</style>
"""


def requested() -> bool:
    """Whether the page's link asks for lecture mode (``?lecture=1``)."""
    return flag(st.query_params.get("lecture"))


def style() -> None:
    st.html(CSS)


def _label(style: str) -> str:
    return f"{STYLES.index(style) + 1}. {style}"


def pick_cell() -> None:
    ss = st.session_state
    if ss.cell != ss.style:
        ss.style = ss.cell
        on_style_change()


def pick_mistake() -> None:
    st.session_state.mistake = st.session_state.mistake_pill


def presets() -> None:
    """The eight tutorial cells as one-click presets, and what the audience should notice."""
    ss = st.session_state
    ss.cell = ss.style  # the sidebar may have changed the style
    st.pills(
        "Tutorial cell",
        STYLES,
        key="cell",
        required=True,
        on_change=pick_cell,
        format_func=_label,
        label_visibility="collapsed",
    )
    info = STYLE_INFO[ss.style]
    notice = info.curve_notice if ss.data in CURVE_DATA and info.curve_notice else info.notice
    st.markdown(f"## Notice: {notice}")  # the heading under the title (h2: no level skipped)


def mistake_presets() -> None:
    """This cell's classic mistakes, one click away (above the code: the first screen stays the charts')."""
    ss = st.session_state
    options = mistakes_for(ss.style)
    if len(options) > 1:
        ss.mistake_pill = ss.mistake if ss.mistake in options else "none"
        st.pills(
            "Run this cell with a classic mistake",
            options,
            key="mistake_pill",
            required=True,
            on_change=pick_mistake,
            format_func=lambda name: "as written" if name == "none" else MISTAKES[name].title,
        )
