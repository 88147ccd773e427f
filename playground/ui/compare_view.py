"""The Compare tab: several runs on the same seed and data, their loss curves overlaid.

Runs train in turn, one at a time, through the server's line like any run (so a
comparison holds one place among the runs training at once), with the same live
refresh as a single run; while a run waits in line, the table says so.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from ..compare import GPU_SIZES, MAX_RUNS, PRESETS, custom, preset, presets
from ..config import OPTIMIZER_LABELS as LABELS
from ..config import OPTIMIZERS, STYLES, Config, ConfigError, lr_grid
from ..record import Status, statistic
from ..server.protocol import Command
from . import charts
from .plot import plot

CUSTOM = "custom"
YOURS = "yours"  # offered while the run trains with the learner's own backward pass


def comparison() -> dict:
    ss = st.session_state
    if "cmp" not in ss:
        ss.cmp = {"runs": [], "views": [], "client": None, "running": False}
    return ss.cmp


def stop() -> None:
    state = comparison()
    if state["client"] is not None:
        state["client"].close()
    state["client"], state["running"] = None, False


def _start_next(state: dict, shared) -> None:
    """Start the first run that has no result yet (it may wait in line); finish when there is none."""
    done = len(state["views"])
    if done >= len(state["runs"]):
        state["client"], state["running"] = None, False
        return
    client = shared.pool.open(state["runs"][done][1])
    state["client"] = client
    client.request(Command.TRAIN, wait_for_start=False)  # the next tick draws it (see actions.train)


def controls(base: Config, shared) -> None:
    state = comparison()
    yours = [YOURS] if base.backward else []
    choice = st.radio(
        "Compare",
        [*yours, *presets(shared.devices[0]), CUSTOM],
        horizontal=True,
        key="cmp_preset",
        format_func=lambda k: "Your lines against the cell" if k == YOURS else PRESETS.get(k, "Your own choice"),
    )
    runs: list[tuple[str, Config]] = []
    try:
        if choice == YOURS:
            runs = [("the cell", base.replace(backward="")), ("your lines", base)]
            st.caption(
                f"The {base.style} cell and your backward pass, from the same data and weights, "
                f"{base.steps} steps each: where the maths agrees, the curves lie on each other."
            )
        elif choice == CUSTOM:
            runs = _custom(base)
        elif choice == "gpu":
            runs = preset(choice, seed=base.seed, steps=base.steps)
            sizes = ", ".join(f"{name} {value}" for name, value in GPU_SIZES.items())
            st.caption(
                f"Adam on the tutorial's random data at {sizes}, {runs[0][1].steps} steps each: the same run on "
                "the CPU and on the GPU. Compare their steps/s."
            )
        else:
            runs = preset(choice, seed=base.seed, steps=base.steps, data=base.data)
            st.caption(
                f"{len(runs)} runs, data {base.data}, seed {base.seed}, {base.steps} steps each (from the sidebar)."
            )
    except ConfigError as error:
        st.error(f"Cannot compare these: {error}")
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("Run comparison", key="cmp_run", type="primary", disabled=not runs or state["running"]):
        stop()
        state.update(runs=runs, views=[], running=True)
        _start_next(state, shared)
    if b2.button("Stop", key="cmp_stop", disabled=not state["running"]):
        stop()


def _custom(base: Config) -> list[tuple[str, Config]]:
    """Your own choice: every combination of the styles, optimizers and rates picked."""
    c1, c2, c3 = st.columns(3)
    styles = c1.multiselect("Styles", STYLES, default=[base.style], key="cmp_styles")
    optimizers = c2.multiselect(
        "Optimizers",
        OPTIMIZERS,
        default=["sgd", "adam"],
        key="cmp_optimizers",
        format_func=lambda o: LABELS[o],
    )
    grid = lr_grid()
    lrs = c3.multiselect(
        "Learning rates",
        grid,
        default=[base.lr] if base.lr in grid else [],
        key="cmp_lrs",
        format_func=lambda v: f"{v:g}",
    )
    st.caption(
        f"Every combination, up to {MAX_RUNS} runs, with your sizes and seed from the sidebar. "
        "Styles that update by hand ignore the optimizer."
    )
    return custom(base.replace(backward=""), styles, optimizers, lrs)  # the cells as they are


def live(shared) -> None:
    state = comparison()
    client = state["client"]
    if client is not None:
        client.poll()
        view = client.view
        if view.status.ended or not client.alive:  # finished, diverged, or lost
            state["views"].append(view)
            client.close()
            state["client"] = None
    if state["running"] and state["client"] is None:
        _start_next(state, shared)
    views = list(state["views"])
    if state["client"] is not None:
        views.append(state["client"].view)
    if not state["runs"]:
        st.info("Pick a preset and press **Run comparison**: every run starts from the same data and weights.")
        return
    labels = [label for label, _ in state["runs"]]
    plot(
        charts.compare_figure(labels, views),
        "compare",
        look_for="curves that lie on top of each other (the same maths, written another way) and "
        "curves that part (a different model, optimizer or learning rate).",
    )
    place = state["client"].waiting if state["client"] is not None else None
    st.dataframe(table(state["runs"], views, place), hide_index=True, width="stretch")
    if not state["running"] and st.session_state.get("cmp_was_running"):
        st.session_state.cmp_was_running = False
        st.rerun(scope="app")
    st.session_state.cmp_was_running = state["running"]


def table(runs: list[tuple[str, Config]], views: list, place=None) -> dict:
    """The comparison as columns; ``place``: where its current run waits in the server's line, if it does."""
    rows = {
        "run": [],
        "style": [],
        "data": [],
        "device": [],
        "optimizer": [],
        "learning rate": [],
        "steps": [],
        "final loss": [],
        "final gradient norm": [],
        "steps/s": [],
        "status": [],
    }
    for i, (label, cfg) in enumerate(runs):
        view = views[i] if i < len(views) else None
        rows["run"].append(label)
        rows["style"].append(cfg.style)
        rows["data"].append(cfg.data)
        rows["device"].append(cfg.device)
        rows["optimizer"].append(LABELS[cfg.optimizer] if cfg.uses_optimizer else "by hand (SGD)")
        rows["learning rate"].append(f"{cfg.lr:g}")
        rows["steps"].append(view.state.steps_done if view else 0)
        rows["final loss"].append(f"{view.state.last['loss']:.4g}" if view and view.state.last else "")
        rows["final gradient norm"].append(_grad_norm(view))
        rows["steps/s"].append(
            f"{view.state.steps_done / view.state.trained_s:,.0f}" if view and view.state.trained_s else ""
        )
        waiting = place is not None and i == len(views) - 1
        rows["status"].append(f"in line: {place.position} of {place.length}" if waiting else _status(view))
    return rows


def _grad_norm(view) -> str:
    """The norm of all gradients together at the last recorded step."""
    if view is None or not len(view.history):
        return ""
    columns = [statistic(name, "grad_norm") for name in view.state.sizes]
    if not columns or columns[0] not in view.history:
        return ""
    last = [view.history[c] for c in columns]
    rows = np.flatnonzero(np.isfinite(last[0]))
    if not len(rows):
        return ""
    total = math.sqrt(sum(float(col[rows[-1]]) ** 2 for col in last))
    return f"{total:.4g}"


def _status(view) -> str:
    if view is None:
        return "to come"
    return {Status.DONE: "finished", Status.DIVERGED: "diverged", Status.ERROR: "error"}.get(view.status, "training")
