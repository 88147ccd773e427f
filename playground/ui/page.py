"""The Streamlit page, in the order it is sent: title, run buttons, settings, live charts, the code.

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

import time

import streamlit as st

from ..config import Config
from ..server.pool import RunClient
from ..server.protocol import Command
from ..styles import STYLES as STYLE_INFO
from . import compare_view, lecture, look
from . import predict as predict_view
from .actions import client, come_back, run_buttons, sync_run
from .code import code_panel
from .downloads import downloads
from .inspector import inspector, walk_stop
from .live import FAST_S, IDLE_S, LiveView, heartbeat
from .shared import shared
from .sidebar import init_state, reconcile, share_link, sidebar, speed, wanted_config

#: Seconds the first run of a page waits after sending the title and the run buttons, before the
#: settings. Deltas that reach the browser together are shown together, once the JavaScript of
#: every kind of widget among them has loaded (a dozen kinds here); a pause lets the browser show
#: the Train button first, as soon as a page with a single button would (docs/performance.md).
FIRST_PAINT_S = 0.4
PAINT_TICK_S = 0.05  # a click during the pause is heard within this


def first_paint() -> None:
    """On a session's first run, give the browser time to show what has been sent so far.

    A script hears a click (a rerun request) only when it sends something, so the pause sends
    an empty element every tick: a Train pressed during the pause reruns the page at once.
    """
    slot = st.empty()  # in every run, so that the page's elements keep their places
    ss = st.session_state
    if ss.get("painted"):
        return
    ss.painted = True
    end = time.monotonic() + FIRST_PAINT_S
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, PAINT_TICK_S))
        slot.empty()


#: Seconds between looks at the device check while it has not answered (see devices_found).
DEVICES_CHECK_S = 1.0


def devices_found() -> None:
    """Rerun the page once the device check answers (a fragment, while it has not).

    With a build of torch that may have a GPU (CUDA, ROCm, or any build on macOS), a page opened in
    the first seconds after the server starts is drawn before the check (a worker importing torch)
    answers: without this, its sidebar offered the CPU alone, said "Looking for GPUs…" and went on
    saying it until the learner touched something. A CPU-only build is known at once
    (``devices.known_without_torch``): no check, no rerun.
    """
    if shared().devices_known.is_set():
        st.rerun()


def main() -> None:
    st.set_page_config(
        page_title="Backprop Playground",
        page_icon="🧠",
        layout="wide",
        initial_sidebar_state="collapsed" if lecture.requested() else "auto",  # a projector needs the width
    )
    shared()
    init_state()
    predict_view.init()
    come_back()
    reconcile()
    cfg, problem = wanted_config()
    if cfg is not None:
        sync_run(cfg)
    ss = st.session_state
    predict_view.score(c.view if (c := client()) else ss.get("ended_view"))  # before the tally is written
    look.style(ss.run_token)
    if ss.lecture:
        lecture.style()
    heading(problem)

    train_tab, compare_tab = st.tabs(["Train", "Compare runs"])
    with train_tab:
        run_buttons(cfg)
        predict_view.question(cfg)
    first_paint()
    with st.sidebar:
        predict_view.toggle()  # above the settings: it changes what Train does
    sidebar()
    if cfg is not None:
        share_link(cfg)
    with train_tab:
        c, live = workspace(cfg)
    with compare_tab:
        compare_view.controls(cfg or Config.for_style(ss.style), shared())
        comparing = compare_view.comparison()["running"]
        st.fragment(run_every=FAST_S if comparing else None)(compare_view.live)(shared())
    if not shared().devices_known.is_set():
        st.fragment(run_every=DEVICES_CHECK_S)(devices_found)()
    if c is not None and c.active:
        live.follow(c)  # last: everything else on the page is drawn
    elif c is not None:
        st.fragment(run_every=IDLE_S)(heartbeat)(c)


def heading(problem: str) -> None:
    """The title, the style's lesson (lecture mode: the cells as presets), and every warning."""
    ss = st.session_state
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


def workspace(cfg: Config | None) -> tuple[RunClient | None, LiveView]:
    """The run's charts, the step inspection and the downloads beside the code that runs (on a
    projector the charts take the whole width and the code goes below them)."""
    ss = st.session_state
    c = client()
    if c is not None:
        c.send(Command.SPEED, speed())
        c.poll()
    box = st.container(key="workspace")
    left, right = (box.container(), box.container()) if ss.lecture else box.columns(2)
    with left:
        # A run that a settings change ended stays on show (and for download) until the next starts.
        shown = c.view if c else ss.get("ended_view")
        live = LiveView(shown, c, cfg, ended=c is None)
        predict_view.reveal(shown)
        if shown is not None:
            live.draw_fast()
            live.draw_slow()
        inspector(cfg)
        with st.empty().container():
            downloads(shown)
    with right.container(key="code_panel"):
        if ss.lecture:
            lecture.mistake_presets()
        code_panel(ss.style, walk_stop(), ss.mistake)
    return c, live
