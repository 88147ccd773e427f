"""Lecture mode: big type for a projector, and the eight tutorial cells as one-click presets."""

from __future__ import annotations

import streamlit as st

from ..config import STYLES
from ..styles import STYLES as STYLE_INFO
from .settings import on_style_change

CSS = """
<style>
  html, .stApp { font-size: 22px; }
  h1 { font-size: 3rem !important; }
  [data-testid="stMetricValue"] { font-size: 3.2rem !important; }
  [data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
  .stCaption, [data-testid="stCaptionContainer"] { font-size: 1.05rem !important; }
  code { font-size: 1.05rem !important; }
</style>
"""


def style() -> None:
    st.html(CSS)


def pick_cell(style: str) -> None:
    st.session_state.style = style
    on_style_change()


def presets() -> None:
    """The eight tutorial cells as one-click presets, each with what the audience should notice."""
    ss = st.session_state
    columns = st.columns(len(STYLES))
    for i, (column, name) in enumerate(zip(columns, STYLES, strict=True)):
        column.button(
            f"{i + 1}. {name}",
            key=f"cell_{name}",
            width="stretch",
            on_click=pick_cell,
            args=(name,),
            type="primary" if ss.style == name else "secondary",
        )
    st.markdown(f"#### Notice: {STYLE_INFO[ss.style].notice}")
