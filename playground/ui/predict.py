"""Predict, then run: with *Predict first* on, Train first asks about the run the learner set up
(``playground/predict.py``), and the run starts when they answer or skip; when it ends, their
answers stand beside what it did, with a sentence on why, and the session's tally (right /
asked) is kept in a cookie, so a reload keeps it.
"""

from __future__ import annotations

import re

import streamlit as st

from .. import predict
from ..config import Config

TALLY_COOKIE = "playground_tally"  # "right/asked", written by look.SCRIPT
TALLY_SCRIPT = f"document.cookie = `{TALLY_COOKIE}=TALLY; max-age=31536000; path=/; SameSite=Lax`;"  # look.py


def init() -> None:
    """The tally comes back from the cookie (a reload's page is a new session). Predict first
    comes from the link, on by default in lecture mode and for a classic mistake (``Link.predicts``)."""
    ss = st.session_state
    if "tally" not in ss:
        text = st.context.cookies.get(TALLY_COOKIE) if st.context.cookies is not None else None
        found = re.fullmatch(r"(\d{1,6})/(\d{1,6})", text) if isinstance(text, str) else None
        right, asked = (int(found[1]), int(found[2])) if found else (0, 0)
        ss.tally = [right, asked] if right <= asked else [0, 0]


def tally_text() -> str:
    right, asked = st.session_state.get("tally", [0, 0])
    return f"{right}/{asked}"


def wants_question(c) -> bool:
    """Whether Train asks first: Predict first is on and Train would start a run from its start
    (not resume a paused one), unless the learner has just answered or skipped."""
    ss = st.session_state
    if not ss.get("predict_first") or ss.pop("answered", False):
        return False
    return c is None or c.view.state.steps_done == 0 or c.view.status.name in ("DONE", "DIVERGED")


def toggle() -> None:
    row = st.container(horizontal=True, key="predict_row", vertical_alignment="center")
    row.toggle(
        "Predict first",
        key="predict_first",
        help="Train asks you what the run will do before it starts; the run's end shows your answer "
        "beside what it did.",
    )
    if st.session_state.tally[1]:
        row.caption(f"Your predictions: {tally_text()} right")


def question(cfg: Config | None) -> None:
    """The questions, while Train waits for them."""
    ss = st.session_state
    if not ss.get("asking") or cfg is None:
        return
    from .actions import act

    with st.container(border=True, key="prediction"):
        st.markdown("**Before it runs, predict.** The run answers when it ends.")
        for q in predict.asked(cfg):
            if q.key == "far":
                st.select_slider(q.words, q.choices, value=predict.power_label(0), key=f"predict_{q.key}")
            else:
                st.radio(q.words, q.choices, index=None, horizontal=True, key=f"predict_{q.key}")
        row = st.container(horizontal=True)
        row.button("Answer, then train", key="predict_answer", type="primary", on_click=act, args=(_answer,))
        row.button("Skip", key="predict_skip", on_click=act, args=(_skip,))


def _answer(cfg: Config | None) -> None:
    ss = st.session_state
    if cfg is None:
        return
    from .actions import client

    answers = {q.key: ss.get(f"predict_{q.key}") for q in predict.asked(cfg)}
    _train(cfg)
    c = client()
    # The run it is about: its view, which lives as long as the run (a new run has another)
    ss.prediction = {"run": id(c.view) if c else None, "answers": answers, "scored": False}


def _skip(cfg: Config | None) -> None:
    st.session_state.prediction = None
    _train(cfg)


def _train(cfg: Config | None) -> None:
    from .actions import train

    ss = st.session_state
    ss.asking, ss.answered = False, True
    if cfg is not None:
        train(cfg)


def _results(view) -> list | None:
    """Each answered question of the run ``view`` shows, beside what the run did; None unless
    that run was predicted and has ended."""
    prediction = st.session_state.get("prediction")
    if view is None or not prediction or id(view) != prediction["run"]:
        return None
    if view.status.name not in ("DONE", "DIVERGED"):
        return None
    losses = view.per_step.columns()["loss"]
    if view.status.name == "DIVERGED":
        losses = [*losses, float("nan")]
    results = []
    for q in predict.asked(view.config):
        said = prediction["answers"].get(q.key)
        if said is not None:
            results.append((q, said, q.answer(losses, view.state.check, view.config)))
    return results


def score(view) -> None:
    """Count a predicted run's answers in the tally once, when it ends (before the page's script
    writes the tally to its cookie, and before the tally is shown)."""
    ss = st.session_state
    results = _results(view)
    if results is not None and not ss.prediction["scored"]:
        ss.prediction["scored"] = True
        ss.tally = [ss.tally[0] + sum(said == right for _, said, right in results), ss.tally[1] + len(results)]


def reveal(view) -> None:
    """At the end of the run that was predicted: each answer beside what the run did."""
    results = _results(view)
    if results is None:
        return
    with st.container(border=True, key="reveal"):
        st.markdown(f"**Your prediction, and what the run did.** Right so far this session: {tally_text()}.")
        for q, said, right in results:
            mark = ":green[:material/check:]" if said == right else ":red[:material/close:]"
            why = q.why(view.config, right)
            st.markdown(f"{mark} {q.words} You said **{said}**; the run: **{right}**. {why}")
