"""The live view: the metrics, the loss curve, a curve's fit and the gradient charts, redrawn while a run trains.

Everything that moves is a placeholder, drawn once for a paused or finished run. While a run
trains (or waits in line to), ``LiveView.follow`` redraws them in a loop: the metrics 5 times a
second, the loss curve twice, the gradient charts every 3 seconds (the first time a second in;
a page's very first chart, a second into the run too: see ``LiveView.charts_due``).
Between redraws it sleeps, and wakes at once when the run stops (``RunClient.nap``). Replacing
an element in a placeholder sends one small delta to the browser; with fragment reruns the
server spent a third of a core on the page and the browser a whole one.

The server's work for live pages stays bounded however many there are: past ``CROWD`` live
pages each one redraws proportionally less often (60 pages: the metrics once a second), so
training keeps most of the CPU.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from .. import curves
from ..config import CURVE_DATA, Config
from ..record import HISTOGRAM_KINDS, Status, activation_series, dead, series
from ..server.pool import RunClient
from ..server.protocol import Command, RunView
from . import charts
from .actions import send_histogram_kinds
from .plot import plot
from .shared import shared
from .visits import session_id, session_is_open

# While training, the browser shares the cores with training: the loss curve redraws less often
# than the metrics, and the gradient charts less often again (docs/performance.md).
FAST_S = 0.2  # metrics (Step, Loss, Steps/s): 5 updates a second
CURVE_S = 0.5  # the loss curve: twice a second
SLOW_S = 3.0  # the gradient charts
FIRST_SLOW_S = 1.0  # ... the first time, after a run starts; and a page's first chart of all
IDLE_S = 10.0  # while idle: tell the pool the page is still open
PING_S = 5.0
CROWD = 12  # live pages that each redraw at full pace; beyond, all slow down in proportion


KIND_LABELS = {
    "gradients": "gradients",
    "weights": "weights",
    "updates": "updates (what a step changed)",
    "activations": "activations of the hidden layer",
}
HISTOGRAM_HINTS = {
    "gradients": "how spread out the gradients are. The spike at 0 (left) is exact zeros: dead ReLU units.",
    "weights": "a spread that changes far more slowly than the gradients': each step moves the weights a little.",
    "updates": "steps far smaller than the weights (about 1/1000). With SGD an update is the gradient times "
    "the learning rate; Adam's are all about the learning rate in size.",
    "activations": "after the ReLU, the spike at 0 (left) is every unit that is off for an example; a unit off "
    "for every example is dead, and gets no gradient.",
}
HEATMAP_HINTS = {
    "gradients": "the band sliding down as the loss falls; gradients shrink by orders of magnitude.",
    "weights": "a band that stays put: training moves the weights by small amounts.",
    "updates": "the band sliding down with the gradients (SGD), or staying near the learning rate (Adam).",
    "activations": "the band spreading as the hidden units take on their roles.",
}


def pace(live_pages: int) -> float:
    """How many times slower than alone each live page redraws (1 up to CROWD pages, 60 pages: 5)."""
    return min(max(1.0, live_pages / CROWD), 1.0 / FAST_S)  # the metrics at least once a second


def check_badge(check: dict) -> str:
    """The live check of the gradients (``Trainer.check``) as a badge: they match, or the weight
    that is furthest off and by how much (its largest difference over its largest entry)."""
    if not check["conclusive"]:
        return ":gray-badge[:material/blur_on: rounding]"
    if not check["off"]:
        return ":green-badge[:material/check: match]"
    name, error = max(check["off"].items(), key=lambda item: item[1])
    more = len(check["off"]) - 1
    return f":red-badge[:material/error: {name} off by {error:.2g}{f', {more} more' if more else ''}]"


def check_help(check: dict) -> str:
    """What the badge checked, and when."""
    text = (
        f"At step {check['step']:,} the gradients the code computed were checked against the chain rule "
        f"in float64, as they are every {check['every']} steps: off means a relative difference over "
        f"{check['tolerance']:.2g}."
    )
    if not check["conclusive"]:
        return text + " Near its floor the loss's gradients are mostly rounding, which hides a wrong one."
    if "hidden_from" in check:
        text += f" From step {check['hidden_from']:,} on they are mostly rounding, which hides a wrong one."
    return text


def first_chart_waits(now: float, due: float, steps_left: int, steps_per_s: float) -> bool:
    """Whether a page's first chart waits (see ``LiveView.charts_due``): until ``due``, a second
    into the run, and up to a second past it while the run would end within that second at its
    pace, so that a run about to end is shown finished first. ``due`` 0: no wait."""
    if now < due:
        return True
    return now < due + FIRST_SLOW_S and steps_per_s > 0 and steps_left / steps_per_s < FIRST_SLOW_S


class LiveView:
    """The placeholders of everything that moves, and their drawing."""

    def __init__(
        self, view: RunView | None, client: RunClient | None = None, cfg: Config | None = None, ended: bool = False
    ):
        # The same elements in every script run, whatever the state: while a run trains the script
        # does not end, and an element that moved would linger as a greyed-out copy until it does.
        self.view = view
        self.client = client
        self.ended = ended and view is not None  # a run a settings change ended, still on show
        self.cfg = view.config if view is not None else cfg
        self.metrics = [column.empty() for column in st.container(key="metrics_row").columns([2, 3, 2, 2])]
        self.status = st.empty()
        self.fit = None
        if self.cfg is not None and self.cfg.data in CURVE_DATA:  # a curve: its fit beside the loss
            left, right = st.columns(2)
            self.loss, self.fit = left.empty(), right.empty()
        else:
            self.loss = st.empty()
        g1, g2 = st.columns(2)
        self.kind_box, self.pick_box = g1.empty(), g2.empty()
        hist, heat = g1.empty(), g2.empty()
        g3, g4 = st.columns(2)
        self.gradients = [hist, heat, g3.empty(), g4.empty()]
        self.dead = st.empty()
        self.pick = None
        self.kind = st.session_state.get("hist_kind", "gradients")
        if view is None:
            self._draw_empty()
        elif view.state.sizes:
            self._pickers()
        self.drawn_fast = self.drawn_slow = self.drawn_curve = None
        self.clock = st.empty()  # see follow()
        # A page's first chart makes the browser load Plotly's JavaScript, a long task in which
        # the page shows nothing new. While a run trains, that chart waits (first_chart_waits):
        # the first steps show at once, and a short run (the default 500 steps) is shown
        # finished before the browser loads it.
        first = not st.session_state.get("_plots") and client is not None and client.active
        self.charts_due = time.monotonic() + FIRST_SLOW_S if first else 0.0

    def _draw_empty(self) -> None:
        """Before the first step: what the charts will show, and a curve's points and target."""
        for placeholder, (label, value) in zip(
            self.metrics, (("Step", "0"), ("Loss", "–"), ("Steps/s", "–")), strict=False
        ):
            placeholder.metric(label, value)
        self.status.info(
            "Press **Train** (or **Step**) to see the loss and the gradients: their histograms, "
            "how their distribution moves over time, their norms and the size of each update."
        )
        if self.fit is not None:
            self._draw_fit()  # the points and the curve to learn, before the first step

    def _pickers(self) -> None:
        """Which kind of histogram the charts show, and which of its series over time."""
        self.kind = self.kind_box.selectbox(
            "Histogram of",
            HISTOGRAM_KINDS,
            key="hist_kind",
            persist_state="session",
            format_func=KIND_LABELS.get,
            on_change=send_histogram_kinds,
            help="Recorded every k steps (Histogram every k steps), like the gradients; "
            "a kind chosen during a run is recorded from the next of those steps on.",
        )
        self.pick = self.pick_box.selectbox(
            "Distribution over time of",
            self.series(),
            key=f"heatmap_{self.kind}",
            format_func=lambda name: name.split(".", 1)[1] if self.kind != "gradients" else name,
        )

    def draw_fast(self, curve: bool = True) -> bool:
        """The metrics and the status, and the loss curve unless ``curve`` is False. False: nothing was new."""
        view = self.view
        drew = False
        waiting = self.client.waiting if self.client else None
        stamp = (view.state.steps_done, view.status, view.running, waiting)
        if stamp != self.drawn_fast:
            if self.drawn_fast is None or self.drawn_fast[1:] != stamp[1:]:
                self._draw_status()
            self.drawn_fast = stamp
            self._draw_metrics()
            drew = True
        if curve and self.drawn_curve != view.state.steps_done and not self._charts_wait():
            self.drawn_curve = view.state.steps_done
            self._draw_curve()
            drew = True
        return drew

    def _charts_wait(self) -> bool:
        state = self.view.state
        target = self.client.settings.steps if self.client is not None else self.view.config.steps
        return first_chart_waits(time.monotonic(), self.charts_due, target - state.steps_done, state.steps_per_s)

    def _draw_metrics(self) -> None:
        view, state = self.view, self.view.state
        loss = state.last.get("loss")
        self.metrics[0].metric("Step", f"{state.steps_done}")
        self.metrics[1].metric("Loss", f"{loss:.4g}" if loss is not None else "–")
        self.metrics[2].metric("Steps/s", f"{state.steps_per_s:,.0f}" if view.running else "–")
        if view.config.style == "dynamic":
            depth = state.last.get("depth")
            self.metrics[3].metric(
                "Depth drawn",
                str(depth) if depth is not None else "–",
                help="DynamicNet draws how many times to reuse its middle layer, every step.",
            )

        elif state.check is not None:
            self.metrics[3].markdown(f"Gradients  \n{check_badge(state.check)}", help=check_help(state.check))

    def _draw_status(self) -> None:
        view = self.view
        waiting = self.client.waiting if self.client else None
        if waiting is not None:
            at_once = shared().pool.at_once()
            self.status.info(
                f"**Waiting in line: place {waiting.position} of {waiting.length}**, about "
                f"{waiting.wait_s:.0f} s. The server trains {at_once} run{'s' if at_once > 1 else ''} at once; "
                "yours starts by itself. Pause leaves the line."
            )
        elif self.ended:
            self.status.info(
                f"The run shown ended at step {view.state.steps_done:,} when its settings changed. "
                "**Train** starts a new one with the settings now in the sidebar."
            )
        elif view.error:
            self.status.error(f"The run stopped: {view.error}")
        elif view.status == Status.DIVERGED:
            self.status.error(view.state.message)
        elif view.status == Status.DONE:
            self.status.success(view.state.message)
        else:
            self.status.empty()

    def series(self) -> list[str]:
        """The histograms of the chosen kind: one per weight tensor, or the hidden layer before and after its ReLU."""
        state = self.view.state
        if self.kind == "activations":
            return [series("activations", name) for name in activation_series(state.relu_layers[0])]
        return [series(self.kind, name) for name in state.sizes]

    def _draw_curve(self) -> None:
        view = self.view
        diverged_at = view.state.last.get("step") if view.status == Status.DIVERGED else None
        with self.loss.container():
            plot(
                charts.loss_figure(view.history, diverged_at),
                "loss",
                live=view.running,
                look_for="a steady fall on the log scale; flat: the rate is too small; a jump up, or a red "
                "line where it stops: too large.",
            )
        if self.fit is not None:
            self._draw_fit()

    def _draw_fit(self) -> None:
        cfg, view = self.cfg, self.view
        grid = curves.grid()
        figure = charts.fit_figure(
            cfg.data,
            curves.points(cfg.data, cfg.n, cfg.seed),
            grid,
            curves.target(cfg.data, grid),
            view.fit if view is not None else None,
        )
        with self.fit.container():
            dynamic = " DynamicNet: at the depth its last step drew." if cfg.style == "dynamic" else ""
            plot(
                figure,
                "fit",
                live=bool(view and view.running),
                look_for="the blue line bending onto the dashed curve. Each diamond is a kink, where one "
                f"hidden unit's ReLU turns on or off. {curves.CURVES[cfg.data].lesson}{dynamic}",
            )

    def draw_slow(self) -> None:
        view = self.view
        stamp = (len(view.history), len(view.histograms), view.state.steps_done)
        if stamp == self.drawn_slow or self._charts_wait():
            return
        self.drawn_slow = stamp
        names, live = list(view.state.sizes), view.running
        if not len(view.history) or not names:
            return
        edges = {
            name: np.exp2(np.arange(low, low + view.config.hist_bins + 1, dtype=float))
            for name, low in view.state.edges_low.items()
        }
        hist, heat, norm, ratio = self.gradients
        kind, shown = self.kind, self.series()
        with hist.container():
            figure = charts.histogram_figure(view.histograms, shown, edges, kind)
            plot(figure, "histogram", live, look_for=HISTOGRAM_HINTS[kind])
            if not any(name in edges for name in shown):
                st.caption(
                    f"No histogram of the {kind} yet: they are recorded from the next step that is a multiple "
                    f"of {view.histograms.every} on. Press Train or Step."
                )
        with heat.container():
            if self.pick in edges:
                figure = charts.heatmap_figure(view.histograms, self.pick, edges[self.pick], kind)
                plot(figure, "heatmap", live, look_for=HEATMAP_HINTS[kind])
        with norm.container():
            figure = charts.per_tensor_figure(view.history, names, "grad_norm", "Gradient norm per tensor", "||grad||")
            plot(
                figure,
                "norms",
                live,
                look_for="norms falling with the loss; a layer far below the others learns slowly.",
            )
        with ratio.container():
            figure = charts.per_tensor_figure(
                view.history,
                names,
                "update_ratio",
                "Update / weight ratio per tensor",
                "||ΔW|| / ||W||",
                rule=charts.RULE_OF_THUMB,
            )
            plot(
                figure,
                "ratios",
                live,
                look_for="values near the dashed 1e-3 line; far below, training crawls; far above, it is unstable.",
            )
        last = view.state.last
        fractions = {layer: last.get(dead(layer), np.nan) for layer in view.state.relu_layers}
        text = ", ".join(f"{layer}: {f:.0%}" for layer, f in fractions.items() if np.isfinite(f))
        if text:
            self.dead.caption(f"Dead ReLU units (no gradient at the last recorded step): {text}")

    def follow(self, c: RunClient) -> None:
        """Redraw while the run trains; when it stops, rerun the page (buttons, downloads)."""
        ss = st.session_state
        # The gradient charts first a second in: a short run (the default 500 steps take well under
        # a second) is then shown finished without the browser building four charts meanwhile.
        slow_due, curve_due = time.monotonic() + FIRST_SLOW_S, 0.0
        shared().following(+1)
        try:
            while c.active and not c.view.error:
                tick = time.monotonic()
                slower = pace(shared().live_pages)
                c.poll()
                if tick - ss.get("pinged", 0) > PING_S:
                    if not session_is_open(session_id()):
                        return  # the tab is gone: stop talking, and the pool drops the run
                    c.send(Command.PING)
                    ss.pinged = tick
                drawing = not self._charts_wait()  # a page's first chart waits (charts_due)
                curve = drawing and tick >= curve_due
                if not self.draw_fast(curve=curve):
                    self.clock.empty()  # nothing new, but an st call all the same: a click on Pause is seen now
                if curve:
                    curve_due = tick + CURVE_S * slower
                if drawing and tick >= slow_due:
                    self.draw_slow()
                    slow_due = tick + SLOW_S * slower
                # One wake-up per redraw (a page's thread that woke for every update slowed the
                # server's answers to other pages), and one more the moment the run stops.
                c.nap(tick + FAST_S * slower - time.monotonic())
            # The run stopped: show how it ended now; the rerun after it redraws the buttons.
            self.draw_fast(curve=False)
        finally:
            shared().following(-1)
        st.rerun()


def heartbeat(c: RunClient) -> None:
    """While a run is paused, tell its worker now and then that the page is still open."""
    c.poll()
    c.send(Command.PING)
