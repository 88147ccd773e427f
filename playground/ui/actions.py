"""The run and what the buttons do to it: Train, Pause, Step, Reset, and inspecting a step.

A session has at most one run, ``st.session_state.client`` (a run of the server's pool, see
``server/pool.py``). Train, Step and "look inside one step" go through the pool's line:
when the server trains as many runs as it allows, the run waits its turn and starts by
itself. Buttons act in ``on_click`` callbacks, which Streamlit runs before it draws the
page, so the page shows their effect at once.
"""

from __future__ import annotations

import streamlit as st

from ..config import LIVE_SETTINGS, Config
from ..server.pool import RunClient
from ..server.protocol import Command
from .keys import RUN as KEYS
from .keys import RUN_TEXT
from .shared import shared
from .sidebar import RUN_SETTINGS, loaded_with, speed, wanted_config
from .visits import COOKIE, session_id


def client() -> RunClient | None:
    return st.session_state.get("client")


def drop_run(notice: str = "", keep_charts: bool = False) -> None:
    """End the run. With ``keep_charts``, the page goes on showing it until a new run starts."""
    ss = st.session_state
    if ss.get("client") is not None:
        ss.client.close()
    ss.ended_view = ss.client.view if keep_charts and ss.get("client") is not None else None
    shared().visits.release(ss.get("run_token"))
    ss.client, ss.run_token = None, None
    if notice:
        ss.notices.append(notice)


def come_back() -> None:
    """A page that comes after a reload (or reconnects) takes up its tab's run (``visits.py``)."""
    ss = st.session_state
    visits = shared().visits
    first = "visited" not in ss
    ss.visited = True
    if first and ss.get("client") is None:
        token = st.context.cookies.get(COOKIE)
        token = token if isinstance(token, str) and token else None  # (AppTest's cookies are a mock)
    elif ss.get("client") is not None and visits.gone(ss.get("run_token")):
        token = ss.run_token
    else:
        return
    # After a reload the URL holds the run's settings; a tab that opened another link starts afresh.
    url = {name: ss[name] for name in RUN_SETTINGS}

    def fits(c: RunClient) -> bool:
        return not first or all(getattr(c.settings, name) == value for name, value in url.items())

    found = visits.back(token, session_id(), fits)
    if found is None:
        step = visits.lost_at(token)
        if step is not None:
            ss.notices.append(
                f"The run this tab showed was left alone for over {shared().pool.orphan_s:.0f} s and has "
                f"ended, at step {step:,}. Press Train to start again."
            )
        elif first and visits.elsewhere(token):
            ss.notices.append(
                "The run this tab showed is gone: the server that trained it stopped, and this page now "
                "comes from another one. Your settings are kept: press Train to start again."
            )
        return
    c, resume = found
    ss.client, ss.run_token = c, token
    c.poll()
    at = f"step {c.view.state.steps_done:,}"
    if resume:
        c.request(Command.TRAIN, wait_for_start=False)
    if c.active:
        ss.notices.append(f"Welcome back: your run goes on from {at}.")
    else:
        state = "finished" if c.view.status.ended else "paused"
        ss.notices.append(f"Welcome back: your run is here, {state} at {at}.")


def sync_run(cfg: Config) -> None:
    """Apply settings to the current run: new structure means a new run; lr and steps apply in place."""
    c = client()
    if c is None:
        return
    sent = c.settings  # the run's settings as last sent (the run started from c.view.config)
    changed = [n for n in RUN_SETTINGS if getattr(sent, n) != getattr(cfg, n)]
    if any(n not in LIVE_SETTINGS for n in changed):
        # Name what the visitor changed, not the defaults a style or data loaded with it.
        loaded = {n for first in changed for n in loaded_with(first, cfg.style)}
        named = ", ".join(n for n in changed if n not in loaded)
        why = "You went back to earlier settings" if st.session_state.get("went_back") else f"You changed {named}"
        step = c.view.state.steps_done
        if step:
            drop_run(f"{why}: the run ended at step {step:,}. Its charts stay until Train starts a new one.", True)
        else:
            drop_run(f"{why}: the run, which had taken no step, was reset.")
        return
    if sent.steps != cfg.steps and c.view.state.steps_done >= cfg.steps and not c.view.status.ended:
        st.session_state.notices.append(
            f"Steps is now {cfg.steps:,}, and the run has taken {c.view.state.steps_done:,}: it is finished. "
            "Raise Steps to go on, or press Train for a new run."
        )
    for name in changed:  # the live settings: from the next step on
        c.send(Command.SET, name, getattr(cfg, name))
    c.settings = cfg


def new_run(cfg: Config) -> RunClient:
    c = shared().pool.open(cfg)
    shared().visits.release(st.session_state.get("run_token"))
    st.session_state.ended_view = None
    st.session_state.client = c
    st.session_state.run_token = shared().visits.hold(session_id(), c)
    c.send(Command.SPEED, speed())
    send_histogram_kinds()
    return c


def send_histogram_kinds() -> None:
    """Have the run record the kind of histogram the page shows (the gradients it records anyway)."""
    ss = st.session_state
    if client() is not None:
        client().send(Command.HISTOGRAMS, [ss.get("hist_kind", "gradients")])


def current_run() -> RunClient | None:
    """The run to act on; a run that has ended is dropped, so the next action starts a new one."""
    c = client()
    if c is not None and (c.view.status.ended or not c.alive):
        drop_run(f"A new run, from step 0: the last one ended at step {c.view.state.steps_done:,}.")
        return None
    return c


def train(cfg: Config) -> None:
    from .predict import wants_question

    ss = st.session_state
    ss.asking = wants_question(current_run())  # Predict first: the questions, then the run (predict.py)
    if ss.asking:
        return
    c = current_run() or new_run(cfg)
    if not c.active:
        # In the first seconds after the server starts, its process may still be starting: the
        # page shows the run started at once rather than wait for the answer.
        c.request(Command.TRAIN, wait_for_start=False)


def step(cfg: Config) -> None:
    st.session_state.asking = False  # a step by hand answers no prediction
    (current_run() or new_run(cfg)).request(Command.STEP, 1)


def pause(cfg: Config | None = None) -> None:
    if client() is not None:
        client().request(Command.PAUSE)


def inspect(cfg: Config) -> None:
    """Look inside the run's next step, from where it stands: a paused, finished or diverged run is
    never thrown away for it (``inspection.step.inspect_run``)."""
    c = client()
    if c is None or not c.alive or c.view.error:
        new_run(cfg)
    st.session_state.inspect_pending = True  # traced in the page's run, under a spinner (trace_pending)


def trace_pending() -> bool:
    """Trace the step that the button asked for, while the page says so; True when one was traced
    (the page then reruns, so that everything on it shows the step the run has moved to)."""
    c = client()
    if not st.session_state.pop("inspect_pending", False) or c is None:
        return False
    with st.spinner("Tracing the step through the code, and checking its gradients…"):
        c.request(Command.INSPECT, timeout=120.0)
    return True


def act(action) -> None:
    """A run button's callback: bring the run up to the widgets' settings, then act."""
    cfg, _ = wanted_config()
    if cfg is not None:
        sync_run(cfg)
    action(cfg)


def run_buttons(cfg: Config | None) -> None:
    b1, b2, b3, b4, status = st.container(key="run_row").columns([3, 3, 2, 2, 6])  # room for the keys
    c = client()
    running = bool(c and c.active)  # training, or waiting in line to
    blocked = cfg is None
    b1.button(
        "Train",
        key="train_button",
        type="primary",
        disabled=blocked or running,
        width="stretch",
        help=f"Start, or resume a paused run. On a finished run, starts again. Key: {KEYS['train']}.",
        on_click=act,
        args=(train,),
        shortcut=KEYS["train"],
    )
    b2.button(
        "Pause",
        key="pause_button",
        disabled=not running,
        width="stretch",
        help=f"Key: {KEYS['pause']}.",
        on_click=act,
        args=(pause,),
        shortcut=KEYS["pause"],
    )
    b3.button(
        "Step",
        key="step_button",
        disabled=blocked or running,
        width="stretch",
        help=f"Take one step. Key: {KEYS['step']}.",
        on_click=act,
        args=(step,),
        shortcut=KEYS["step"],
    )
    b4.button(
        "Reset",
        key="reset_button",
        width="stretch",
        help=f"Forget the run; start again from step 0. Key: {KEYS['reset']}.",
        on_click=drop_run,
        args=("The run was reset.",),
        shortcut=KEYS["reset"],
    )
    ss = st.session_state
    with status.container():
        for notice in ss.notices:
            st.info(notice)
        if ss.get("lecture") and not ss.notices:
            st.container(key="keys_hint").caption(RUN_TEXT)
    ss.notices = []
