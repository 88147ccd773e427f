"""Look inside one step: one real step, traced line by line through the style's own code."""

from __future__ import annotations

import streamlit as st

from ..config import Config
from ..styles import STYLES as STYLE_INFO
from .actions import act, client, inspect


def inspector(cfg: Config | None) -> None:
    c = client()
    view = c.view if c else None
    running = bool(c and c.active)
    with st.expander("Look inside one step", expanded=bool(view and view.inspected)):
        st.caption(
            "Takes one real training step while following the code on the right line by line, and shows "
            "each value the step makes: its shape, its first numbers and its norm."
        )
        st.button(
            "Take one step and show its maths",
            key="inspect_button",
            disabled=cfg is None or running,
            on_click=act,
            args=(inspect,),
        )
        if view and view.inspected:
            st.markdown(f"**Step {view.state.steps_done - 1}**, in `{STYLE_INFO[view.config.style].module}.py`:")
            st.table(
                {
                    "value": [e["name"] for e in view.inspected],
                    "made by": [f"line {e['line']}: {e['code']}" for e in view.inspected],
                    "shape": [" × ".join(map(str, e["shape"])) or "scalar" for e in view.inspected],
                    "first numbers": [", ".join(f"{v:.4g}" for v in e["sample"]) for e in view.inspected],
                    "norm": [f"{e['norm']:.4g}" for e in view.inspected],
                }
            )
