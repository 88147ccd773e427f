"""The Streamlit page: controls in the sidebar, run buttons, live charts, the code that runs.

Per-session state lives in ``st.session_state`` only; what all sessions share
(the cap on runs training at once) lives in ``shared()``, a cache resource.
Training happens in a worker process per run (``playground.worker``); this
page sends it commands and draws what it sends back.
"""

from __future__ import annotations

import threading
import time
import weakref
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from .. import export, links
from ..config import (
    MANUAL_UPDATE_STYLES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    SETTINGS_BY_NAME,
    STYLE_DEFAULTS,
    STYLES,
    Config,
    ConfigError,
    Limits,
)
from ..styles import STYLES as STYLE_INFO
from ..worker import RunClient, probe_devices, warm_up
from . import charts, compare_view

# While training, the browser shares two cores with training. Measured here: redrawing the Plotly loss
# curve 5 times a second took the browser a whole core; the metrics alone, a third of one.
FAST_S = 0.2  # metrics (Step, Loss, Steps/s): 5 updates a second
CURVE_S = 0.5  # the loss curve: twice a second
SLOW_S = 3.0  # the gradient charts
IDLE_S = 10.0  # while idle: tell the worker the page is still open
PING_S = 5.0

#: Settings whose change makes a new run. The learning rate and the run length apply to the run in place.
LIVE_SETTINGS = ("lr", "steps")
RUN_SETTINGS = links.LINK_SETTINGS  # a link carries exactly the settings that define a run

LR_GRID = [m * 10.0**e for e in range(-7, 1) for m in (1, 2, 5) if m * 10.0**e <= 1.0]


# ------------------------------------------------------------------ shared by all sessions


class Shared:
    """The one object every session sees: the limits and the live runs (to cap them)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.lock = threading.Lock()
        self.clients: weakref.WeakSet[RunClient] = weakref.WeakSet()
        self.devices: tuple[list[str], str] = (["cpu"], "Looking for GPUs…")
        self.devices_known = threading.Event()
        threading.Thread(target=self._prepare, daemon=True).start()

    def _prepare(self) -> None:
        """Start the workers' fork server (it imports torch: seconds) and ask it which devices exist."""
        warm_up()
        self.devices = probe_devices()
        self.devices_known.set()

    def training(self) -> int:
        with self.lock:
            return sum(1 for c in self.clients if c.view.running and c.alive)

    def busy(self) -> str:
        """Why a new run must wait, or "" when one may start."""
        cap = self.limits.max_concurrent_runs
        if self.training() < cap:
            return ""
        return (
            f"The server is busy: {cap} runs are training right now, the most it allows at once. "
            "Please wait a moment and try again; your settings are kept."
        )

    def add(self, client: RunClient) -> None:
        with self.lock:
            self.clients.add(client)


@st.cache_resource
def shared() -> Shared:
    try:
        limits = Limits.from_env()
    except ConfigError as error:  # a deployment's bad setting: say so on every page, keep the defaults
        limits = Limits()
        limits_problem.append(f"Server setting {error}; using the default limits.")
    return Shared(limits)


limits_problem: list[str] = []  # filled once, by shared(), when the environment holds a bad limit


# ------------------------------------------------------------------ settings


def _defaults_for(style: str) -> dict:
    return Config.for_style(style).to_dict()


def init_state() -> None:
    """First run of a session: settings from the link (checked), else the tutorial's first cell."""
    ss = st.session_state
    ss.setdefault("notices", [])
    ss.setdefault("warnings", [])
    if "style" not in ss:
        params = st.query_params.to_dict()
        if params.get("device", "cpu") != "cpu":  # the link asks for a GPU: wait to know whether one exists
            shared().devices_known.wait(timeout=30)
        cfg, warnings = links.from_query(params, shared().devices[0], shared().limits)
        for name in RUN_SETTINGS:
            ss[name] = getattr(cfg, name)
        ss.warnings += [f"From the link: {w}" for w in warnings]
    if "lecture" not in ss:
        params = st.query_params
        ss.lecture = params.get("lecture", "").lower() in ("1", "true", "yes", "on")
        asked = [h.strip() for h in params.get("hide", "").split(",") if h.strip()]
        ss.hide = [h for h in asked if h in HIDEABLE]
        for h in sorted(set(asked) - set(HIDEABLE)):
            ss.warnings.append(f"From the link: hide: {h!r} is not a control; allowed {', '.join(HIDEABLE)}.")
    ss.setdefault("speed_mode", "As fast as possible")
    ss.setdefault("speed_cap", 20)
    ss.setdefault("client", None)


def on_style_change() -> None:
    """Choosing a style loads its tutorial defaults (learning rate, optimizer, precision)."""
    ss = st.session_state
    defaults = _defaults_for(ss.style)
    for name in (*STYLE_DEFAULTS[ss.style], "momentum", "dtype"):
        ss[name] = defaults[name]
    if ss.style == "numpy":
        ss.device = "cpu"
    ss.notices.append(f"Loaded the tutorial's defaults for {STYLE_INFO[ss.style].title}.")


HIDEABLE = (
    "n",
    "d_in",
    "hidden",
    "d_out",
    "lr",
    "optimizer",
    "momentum",
    "device",
    "dtype",
    "depth",
    "steps",
    "seed",
    "speed",
)


def _number(container, name: str, step: int = 1, **kwargs) -> None:
    """A whole-number input for a setting, with the setting's label and range."""
    s = SETTINGS_BY_NAME[name]
    container.number_input(s.label, int(s.low), int(s.high), key=name, step=step, **kwargs)


def sidebar() -> None:
    ss = st.session_state
    style = ss.style
    manual = style in MANUAL_UPDATE_STYLES
    hidden = set(ss.hide) if ss.lecture else set()

    def shown(name: str) -> bool:
        return name not in hidden

    sb = st.sidebar
    sb.header("Settings")
    sb.selectbox(
        SETTINGS_BY_NAME["style"].label,
        STYLES,
        key="style",
        on_change=on_style_change,
        format_func=lambda s: f"{s}: {STYLE_INFO[s].title}",
    )
    c1, c2 = sb.columns(2)
    for column, name in ((c1, "n"), (c2, "d_in"), (c1, "hidden"), (c2, "d_out")):
        if shown(name):
            _number(column, name)
    if shown("lr"):
        sb.select_slider(
            "Learning rate (log scale)",
            sorted({*LR_GRID, ss.lr}),  # a link's value stays exact
            key="lr",
            format_func=lambda v: f"{v:.2g}",
            help="Applies from the next step, even during a run.",
        )
    if shown("optimizer"):
        sb.selectbox(
            "Optimizer",
            OPTIMIZERS,
            key="optimizer",
            disabled=manual,
            format_func=lambda o: OPTIMIZER_LABELS[o],
        )
        if manual:
            sb.caption(f"Optimizer: not used by `{style}`, which updates its weights by hand (plain SGD).")
    uses_momentum = not manual and ss.optimizer in MOMENTUM_OPTIMIZERS
    if shown("momentum"):
        sb.slider("Momentum", 0.0, 0.999, key="momentum", step=0.001, disabled=not uses_momentum)
        if not uses_momentum:
            sb.caption("Momentum: only SGD + momentum and Nesterov use it.")
    available, why_no_cuda = shared().devices
    if ss.device not in available:
        if shared().devices_known.is_set():
            ss.device = "cpu"
        else:
            available = [*available, ss.device]  # until the check answers, keep the link's choice
    if shown("device"):
        sb.selectbox("Device", available, key="device", disabled=style == "numpy")
        if style == "numpy":
            sb.caption("Device: NumPy runs on the CPU only.")
        elif why_no_cuda:
            sb.caption(why_no_cuda)
    if shown("dtype"):
        sb.selectbox("Precision", ("float32", "float64"), key="dtype")
    dynamic = style == "dynamic"
    if shown("depth"):
        d1, d2 = sb.columns(2)
        _number(d1, "min_depth", disabled=not dynamic)
        _number(d2, "max_depth", disabled=not dynamic)
        if not dynamic:
            sb.caption("Depth: only DynamicNet draws a depth each step.")
    if shown("steps"):
        _number(sb, "steps", step=100, help="Run length. Raising it lets a finished run go on.")
    if shown("seed"):
        _number(sb, "seed", help="The same seed gives every style the same data and starting weights.")
    if shown("speed"):
        sb.radio("Speed", ("As fast as possible", "Slow motion"), key="speed_mode", horizontal=True)
        sb.slider("Steps per second", 1, 200, key="speed_cap", disabled=ss.speed_mode != "Slow motion")
    sb.divider()
    sb.toggle(
        "Lecture mode",
        key="lecture",
        help="Big type and charts for a projector; the eight tutorial "
        "cells as presets; hides the controls you choose below.",
    )
    if ss.lecture:
        sb.multiselect("Hide in lecture mode", HIDEABLE, key="hide")


def wanted_config() -> tuple[Config | None, str]:
    """The config the widgets describe, or None and the validation message."""
    ss = st.session_state
    values = {name: ss[name] for name in RUN_SETTINGS}
    if ss.style in MANUAL_UPDATE_STYLES:
        values["optimizer"] = "sgd"
    if ss.style != "dynamic":
        values["min_depth"], values["max_depth"] = 0, 3
    if ss.style == "numpy":
        values["device"] = "cpu"
    try:
        return Config.from_dict(values, limits=shared().limits), ""
    except ConfigError as error:
        return None, str(error)


# ------------------------------------------------------------------ the run


def client() -> RunClient | None:
    return st.session_state.client


def drop_run(notice: str = "") -> None:
    ss = st.session_state
    if ss.client is not None:
        ss.client.close()
    ss.client = None
    if notice:
        ss.notices.append(notice)


def sync_run(cfg: Config) -> None:
    """Apply settings to the current run: new structure means a new run; lr and steps apply in place."""
    c = client()
    if c is None:
        return
    old = c.view.config
    structural = [n for n in RUN_SETTINGS if n not in LIVE_SETTINGS and getattr(old, n) != getattr(cfg, n)]
    if structural:
        drop_run(f"You changed {', '.join(structural)}: the run was reset.")
        return
    if old.lr != cfg.lr:
        c.send("lr", cfg.lr)
    if old.steps != cfg.steps:
        c.send("steps", cfg.steps)
    c.view.config = cfg


def speed() -> float | None:
    ss = st.session_state
    return float(ss.speed_cap) if ss.speed_mode == "Slow motion" else None


def new_run(cfg: Config) -> RunClient:
    c = RunClient.start(cfg)
    shared().add(c)
    st.session_state.client = c
    c.send("speed", speed())
    return c


def current_run() -> RunClient | None:
    """The run to act on; a run that has ended is dropped, so the next action starts a new one."""
    c = client()
    if c is not None and c.view.status in ("done", "diverged", "error"):
        drop_run()
        return None
    return c


def train(cfg: Config) -> None:
    c = current_run()
    busy = "" if c and c.view.running else shared().busy()
    if busy:
        st.session_state.notices.append(busy)
        return
    (c or new_run(cfg)).request("train")


def step(cfg: Config) -> None:
    (current_run() or new_run(cfg)).request("step", 1)


def pause() -> None:
    if client() is not None:
        client().request("pause")


# ------------------------------------------------------------------ live view


def _weight_names(view) -> list[str]:
    names = [c[: -len(".grad_norm")] for c in view.history.names() if c.endswith(".grad_norm")]
    return names


CHART_CONFIG = {"displayModeBar": False}


def chart(fig: dict, key: str | None = None, config: dict | None = None) -> None:
    """Draw a figure; in lecture mode, big enough for the back row."""
    if st.session_state.get("lecture"):
        fig = charts.enlarge(fig)
    c = client()
    if c is not None and c.view.running:
        # While training, a static chart (no hover, zoom or pan machinery) redraws far faster in the
        # browser, which shares the CPU with training. A paused or finished run's charts are interactive.
        config = {**(config or CHART_CONFIG), "staticPlot": True}
    st.plotly_chart(fig, key=key, config=config or CHART_CONFIG)


def _weight_names(view) -> list[str]:
    return [c[: -len(".grad_norm")] for c in view.history.names() if c.endswith(".grad_norm")]


def _session_is_open() -> bool:
    """Whether this session's browser tab is still connected (True where that cannot be known)."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return get_instance().is_active_session(get_script_run_ctx().session_id)
    except Exception:  # no runtime (AppTest, bare mode): assume the page is there
        return True


class LiveView:
    """Everything that moves while a run trains, as placeholders.

    Drawn once for a paused or finished run; while a run trains, ``follow`` redraws them in a
    loop: the metrics 5 times a second, the loss curve twice, the gradient charts every 3
    seconds. Replacing an element in a placeholder sends one small delta to the browser; with
    fragment reruns the server spent a third of a core on the page and the browser a whole one.
    """

    def __init__(self, view):
        # The same elements in every script run, whatever the state: while a run trains the script
        # does not end, and an element that moved would linger as a greyed-out copy until it does.
        self.view = view
        self.metrics = [column.empty() for column in st.columns([2, 3, 2, 2])]
        self.status = st.empty()
        self.loss = st.empty()
        g1, g2 = st.columns(2)
        self.pick_box = g2.empty()
        hist, heat = g1.empty(), g2.empty()
        g3, g4 = st.columns(2)
        self.gradients = [hist, heat, g3.empty(), g4.empty()]
        self.dead = st.empty()
        self.pick = None
        if view is None:
            for placeholder, (label, value) in zip(
                self.metrics, (("Step", "0"), ("Loss", "–"), ("Steps/s", "–")), strict=False
            ):
                placeholder.metric(label, value)
            self.status.info(
                "Press **Train** (or **Step**) to see the loss and the gradients: their histograms, "
                "how their distribution moves over time, their norms and the size of each update."
            )
        elif view.sizes:
            self.pick = self.pick_box.selectbox(
                "Tensor for the distribution over time", list(view.sizes), key="heatmap_tensor"
            )
        self.drawn_fast = self.drawn_slow = self.drawn_curve = None
        self.draws = 0  # a fresh key per drawing: the same figure drawn twice in one script run is an error
        self.clock = st.empty()  # see follow()

    def draw_fast(self, curve: bool = True) -> bool:
        """The metrics and the status, and the loss curve unless ``curve`` is False. False: nothing was new."""
        view = self.view
        drew = False
        stamp = (view.steps_done, view.status, view.running, view.error)
        if stamp != self.drawn_fast:
            if self.drawn_fast is None or self.drawn_fast[1:] != stamp[1:]:
                self._draw_status()
            self.drawn_fast = stamp
            self._draw_metrics()
            drew = True
        if curve and self.drawn_curve != view.steps_done:
            self.drawn_curve = view.steps_done
            self._draw_curve()
            drew = True
        return drew

    def _draw_metrics(self) -> None:
        view = self.view
        loss = view.last.get("loss") if view.last else None
        self.metrics[0].metric("Step", f"{view.steps_done}")
        self.metrics[1].metric("Loss", f"{loss:.4g}" if loss is not None else "–")
        self.metrics[2].metric("Steps/s", f"{view.steps_per_s:,.0f}" if view.running else "–")
        if view.config.style == "dynamic":
            depth = view.last.get("depth") if view.last else None
            self.metrics[3].metric(
                "Depth drawn",
                str(depth) if depth is not None else "–",
                help="DynamicNet draws how many times to reuse its middle layer, every step.",
            )

    def _draw_status(self) -> None:
        view = self.view
        if view.error:
            self.status.error(f"The run stopped: {view.error}")
        elif view.status == "diverged":
            self.status.error(view.message)
        elif view.status == "done":
            self.status.success(view.message)
        else:
            self.status.empty()

    def _draw_curve(self) -> None:
        view = self.view
        diverged_at = view.last.get("step") if view.status == "diverged" else None
        with self.loss.container():
            self.draws += 1
            chart(charts.loss_figure(view.history, diverged_at), key=f"loss-{self.draws}")
            st.caption(
                "Look for: a steady fall on the log scale. A flat line means the learning rate is too "
                "small; a jump up, or a red line where it stops, means it is too large."
            )

    def draw_slow(self) -> None:
        view = self.view
        stamp = (len(view.history), len(view.histograms), view.steps_done)
        if self.view is None or stamp == self.drawn_slow:
            return
        self.drawn_slow = stamp
        names = _weight_names(view)
        if not names:
            return
        self.draws += 1
        n = self.draws
        sizes = view.sizes
        edges = {
            n: np.exp2(np.arange(low, low + view.config.hist_bins + 1, dtype=float))
            for n, low in view.edges_low.items()
        }
        hist, heat, norm, ratio = self.gradients
        with hist.container():
            chart(charts.histogram_figure(view.histograms, names, edges, sizes), key=f"hist-{n}")
            st.caption("Look for: how spread out the gradients are. A tall spike of exact zeros is dead ReLU units.")
        with heat.container():
            if self.pick in edges:
                chart(
                    charts.heatmap_figure(view.histograms, self.pick, edges[self.pick], sizes[self.pick]),
                    key=f"heat-{n}",
                )
            st.caption("Look for: the band sliding down as the loss falls; gradients shrink by orders of magnitude.")
        with norm.container():
            chart(
                charts.per_tensor_figure(view.history, names, "grad_norm", "Gradient norm per tensor", "||grad||"),
                key=f"norm-{n}",
            )
            st.caption("Look for: norms falling with the loss; a layer far below the others learns slowly.")
        with ratio.container():
            chart(
                charts.per_tensor_figure(
                    view.history,
                    names,
                    "update_ratio",
                    "Update / weight ratio per tensor",
                    "||ΔW|| / ||W||",
                    rule=charts.RULE_OF_THUMB,
                )
            )
            st.caption(
                "Look for: values near the dashed 1e-3 line; far below, training crawls; far above, it is unstable."
            )
        dead = [c for c in view.history.names() if c.startswith("dead.")]
        text = ", ".join(f"{c[5:]}: {view.last[c]:.0%}" for c in dead if c in view.last and np.isfinite(view.last[c]))
        if text:
            self.dead.caption(f"Dead ReLU units (no gradient at the last recorded step): {text}")

    def follow(self, c: RunClient) -> None:
        """Redraw while the run trains; when it stops, rerun the page (buttons, downloads)."""
        ss = st.session_state
        slow_due = curve_due = 0.0
        while c.view.running and not c.view.error:
            tick = time.monotonic()
            c.poll()
            if tick - ss.get("pinged", 0) > PING_S:
                if not _session_is_open():
                    return  # the tab is gone: stop talking, and the worker stops itself
                c.send("ping")
                ss.pinged = tick
            if not self.draw_fast(curve=tick >= curve_due):
                self.clock.empty()  # nothing new, but an st call all the same: a click on Pause is seen now
            if tick >= curve_due:
                curve_due = tick + CURVE_S
            if tick >= slow_due:
                self.draw_slow()
                slow_due = tick + SLOW_S
            time.sleep(max(0.0, FAST_S - (time.monotonic() - tick)))
        st.rerun()


def heartbeat() -> None:
    """While a run is paused, tell its worker now and then that the page is still open."""
    c = client()
    if c is not None:
        c.poll()
        c.send("ping")


# ------------------------------------------------------------------ links


def share_link(cfg: Config) -> None:
    """Keep the page's URL equal to the settings, and offer the link to copy."""
    query = links.to_query(cfg)
    ss = st.session_state
    extra = {"lecture": "1"} if ss.lecture else {}
    if ss.lecture and ss.hide:
        extra["hide"] = ",".join(ss.hide)
    if st.query_params.to_dict() != {**query, **extra}:
        st.query_params.from_dict({**query, **extra})
    base = str(st.context.url or "").split("?")[0] or "http://localhost:8501/"
    with st.sidebar.expander("Share this setup"):
        st.caption("This link reopens these settings (copy button at the right of the box):")
        st.code(f"{base}?{urlencode({**query, **extra})}", language=None, wrap_lines=True)


# ------------------------------------------------------------------ the page


LECTURE_CSS = """
<style>
  html, .stApp { font-size: 22px; }
  h1 { font-size: 3rem !important; }
  [data-testid="stMetricValue"] { font-size: 3.2rem !important; }
  [data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
  .stCaption, [data-testid="stCaptionContainer"] { font-size: 1.05rem !important; }
  code { font-size: 1.05rem !important; }
</style>
"""


def inspect_one(cfg: Config) -> None:
    (current_run() or new_run(cfg)).request("inspect")


def inspector(cfg: Config | None) -> None:
    """ "Show me the maths": one real step, traced line by line through the style's own code."""
    c = client()
    view = c.view if c else None
    running = bool(view and view.running)
    with st.expander("Look inside one step", expanded=bool(view and view.inspected)):
        st.caption(
            "Takes one real training step while following the code on the right line by line, and shows "
            "each value the step makes: its shape, its first numbers and its norm."
        )
        st.button(
            "Take one step and show its maths",
            key="inspect_button",
            disabled=cfg is None or running,
            on_click=_act,
            args=(inspect_one,),
        )
        if view and view.inspected:
            st.markdown(f"**Step {view.steps_done - 1}**, in `{STYLE_INFO[view.config.style].module}.py`:")
            st.table(
                {
                    "value": [e["name"] for e in view.inspected],
                    "made by": [f"line {e['line']}: {e['code']}" for e in view.inspected],
                    "shape": [" × ".join(map(str, e["shape"])) or "scalar" for e in view.inspected],
                    "first numbers": [", ".join(f"{v:.4g}" for v in e["sample"]) for e in view.inspected],
                    "norm": [f"{e['norm']:.4g}" for e in view.inspected],
                }
            )


def downloads() -> None:
    """The run as CSV (per-step statistics) and as JSON that `python -m playground train --config` replays."""
    c = client()
    if c is None or c.view.running or not len(c.view.history):
        return
    view = c.view
    d1, d2 = st.columns(2)
    d1.download_button(
        "Download CSV",
        data=lambda: export.history_csv(view.history),
        file_name="run.csv",
        mime="text/csv",
        key="download_csv",
        width="stretch",
    )
    d2.download_button(
        "Download JSON",
        data=lambda: export.run_json(view.config, view.history),
        file_name="run.json",
        mime="application/json",
        key="download_json",
        width="stretch",
        help="Replay it: python -m playground train --config run.json",
    )


def pick_cell(style: str) -> None:
    st.session_state.style = style
    on_style_change()


def lecture_presets() -> None:
    """The eight tutorial cells as one-click presets, each with what the audience should notice."""
    ss = st.session_state
    columns = st.columns(len(STYLES))
    for i, (column, style) in enumerate(zip(columns, STYLES, strict=True)):
        column.button(
            f"{i + 1}. {style}",
            key=f"cell_{style}",
            width="stretch",
            on_click=pick_cell,
            args=(style,),
            type="primary" if ss.style == style else "secondary",
        )
    st.markdown(f"#### Notice: {STYLE_INFO[ss.style].notice}")


def _act(action) -> None:
    """A run button's callback: it runs before the page is drawn, so the page shows its effect."""
    cfg, _ = wanted_config()
    if cfg is not None:
        sync_run(cfg)
    action(cfg)


def run_buttons(cfg: Config | None) -> None:
    b1, b2, b3, b4, status = st.columns([1, 1, 1, 1, 4])
    c = client()
    running = bool(c and c.view.running)
    blocked = cfg is None
    b1.button(
        "Train",
        key="train_button",
        type="primary",
        disabled=blocked or running,
        width="stretch",
        help="Start, or resume a paused run. On a finished run, starts again.",
        on_click=_act,
        args=(train,),
    )
    b2.button(
        "Pause", key="pause_button", disabled=not running, width="stretch", on_click=_act, args=(lambda cfg: pause(),)
    )
    b3.button(
        "Step",
        key="step_button",
        disabled=blocked or running,
        width="stretch",
        help="Take one step.",
        on_click=_act,
        args=(step,),
    )
    b4.button(
        "Reset",
        key="reset_button",
        width="stretch",
        help="Forget the run; start again from step 0.",
        on_click=drop_run,
        args=("The run was reset.",),
    )
    ss = st.session_state
    with status.container():
        for notice in ss.notices:
            st.info(notice)
    ss.notices = []


def main() -> None:
    st.set_page_config(page_title="Backprop Playground", page_icon="🧠", layout="wide")
    shared()
    init_state()
    ss = st.session_state
    for name in (*RUN_SETTINGS, "speed_mode", "speed_cap", "hide"):
        ss[name] = ss[name]  # keep values of controls that lecture mode hides
    sidebar()
    cfg, problem = wanted_config()
    if cfg is not None:
        sync_run(cfg)
    if ss.lecture:
        st.html(LECTURE_CSS)

    st.title("Backprop Playground")
    info = STYLE_INFO[ss.style]
    # Placeholders keep the page's shape the same from one run to the next (see LiveView).
    with st.empty().container():
        if ss.lecture:
            lecture_presets()
        else:
            st.markdown(f"**{info.title}.** {info.lesson}")
    with st.empty().container():
        for line in limits_problem:
            st.warning(line)
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
        running = bool(c and c.view.running)
        if c is not None:
            c.send("speed", speed())
        # On a projector the charts take the whole width and the code goes below them.
        left, right = (st.container(), st.container()) if ss.lecture else st.columns([3, 2])
        with left:
            if c is not None:
                c.poll()
            live = LiveView(c.view if c else None)
            if c is not None:
                live.draw_fast()
                live.draw_slow()
            inspector(cfg)
            with st.empty().container():
                downloads()
        with right:
            st.subheader("The code that runs")
            st.caption(f"`playground/styles/{info.module}.py`: the engine runs exactly this.")
            st.code(info.source(), language="python", line_numbers=True)
    with compare_tab:
        base = cfg or Config.for_style(ss.style)
        compare_view.controls(base, shared(), LR_GRID)
        comparing = compare_view.comparison()["running"]
        st.fragment(run_every=FAST_S if comparing else None)(compare_view.live)(shared())
    if running:
        live.follow(c)  # last: everything else on the page is drawn
    elif c is not None:
        st.fragment(run_every=IDLE_S)(heartbeat)()
