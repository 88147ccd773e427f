"""The Streamlit page, top to bottom: settings, title, run buttons, live charts, the code that runs.

Each job has a file of its own in this package:

- ``shared.py``: what all sessions share (limits, devices, the pool of training processes)
- ``settings.py``: the settings (link, sidebar, rules, URL)
- ``actions.py``: the run and the buttons that act on it
- ``live.py``: the live view (metrics, loss curve, gradient charts)
- ``code.py``: the code panel, and what changed from the previous cell
- ``inspector.py``, ``downloads.py``, ``lecture.py``, ``compare_view.py``
- ``charts.py`` builds the figures; ``plot.py`` draws them
"""

from __future__ import annotations

import streamlit as st

from ..config import Config
from ..styles import STYLES as STYLE_INFO
from ..worker import Command
from . import compare_view, lecture
from .actions import client, run_buttons, sync_run
from .code import code_panel
from .downloads import downloads
from .inspector import inspector
from .live import FAST_S, IDLE_S, LiveView, heartbeat
from .settings import init_state, reconcile, share_link, sidebar, speed, wanted_config
from .shared import shared


def main() -> None:
    st.set_page_config(
        page_title="Backprop Playground",
        page_icon="🧠",
        layout="wide",
        initial_sidebar_state="collapsed" if lecture.requested() else "auto",  # a projector needs the width
    )
    shared()
    init_state()
    reconcile()
    sidebar()
    cfg, problem = wanted_config()
    if cfg is not None:
        sync_run(cfg)
    ss = st.session_state
    if ss.lecture:
        lecture.style()

    st.title("Backprop Playground")
    info = STYLE_INFO[ss.style]
    # Placeholders keep the page's shape the same from one run to the next (see LiveView).
    with st.empty().container():
        if ss.lecture:
            lecture.presets()
        else:
            st.markdown(f"**{info.title}.** {info.lesson}")
    with st.empty().container():
        if shared().problem:
            st.warning(shared().problem)
        if problem:
            st.error(f"Cannot train with these settings: {problem}")
        for warning in ss.warnings:
            st.warning(warning)
    ss.warnings = []
    if cfg is not None:
        share_link(cfg)

    train_tab, compare_tab = st.tabs(["Train", "Compare runs"])
    with train_tab:
        run_buttons(cfg)
        c = client()
        if c is not None:
            c.send(Command.SPEED, speed())
            c.poll()
        # On a projector the charts take the whole width and the code goes below them.
        left, right = (st.container(), st.container()) if ss.lecture else st.columns([3, 2])
        with left:
            live = LiveView(c.view if c else None, c, cfg)
            if c is not None:
                live.draw_fast()
                live.draw_slow()
            inspector(cfg)
            with st.empty().container():
                downloads(c.view if c else None)
        with right:
            code_panel(ss.style)
    with compare_tab:
        compare_view.controls(cfg or Config.for_style(ss.style), shared())
        comparing = compare_view.comparison()["running"]
        st.fragment(run_every=FAST_S if comparing else None)(compare_view.live)(shared())
    if c is not None and c.active:
        live.follow(c)  # last: everything else on the page is drawn
    elif c is not None:
        st.fragment(run_every=IDLE_S)(heartbeat)(c)
