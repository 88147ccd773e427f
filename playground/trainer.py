"""The trainer: runs one style a step at a time and records what happened.

    trainer = Trainer(Config.for_style("module"))
    trainer.run(500)
    trainer.history["loss"]        # per kept step
    trainer.last                   # the latest row, always
    trainer.status, trainer.message

A row holds the step index (from 0, as the tutorial's ``t``), the loss, the
learning rate the step used and, for DynamicNet, the depth drawn. Every ``stats_every`` steps it also holds per
weight tensor the gradient statistics (see ``stats.GradientStats``; NaN in the
rows between). Every ``hist_every`` steps the gradient histograms go to
``trainer.histograms``. A pass of statistics, or of histograms, costs a good part of a
training step at the tutorial's sizes, so by default each is taken every 20 steps
(docs/performance.md); ``stats_every=1`` records everything at every step. Both logs are bounded (see ``history``).
``Trainer(cfg, statistics=False, histograms=False)`` records the loss alone: what the
command line does when it prints nothing more.
With ``checks=True``, a style whose backward pass is written by hand (and any classic mistake)
has its gradients checked at its first two steps and every ``CHECK_EVERY`` steps against the chain rule in float64:
``trainer.check`` is the latest that could tell a wrong gradient from rounding
(``gradcheck.live_check``), which the page shows beside the metrics.
A NaN or infinite loss ends the run with status "diverged" and a message that
says where and what to try; it never raises.

The histograms count the gradients; ``set_histogram_kinds`` adds the weights, the updates or the
hidden layer's activations (``record.HISTOGRAM_KINDS``), at the same steps. With a curve for
data, ``fit()`` is the network's prediction on the fit chart's grid, as it is now.

A live change (``change``: ``set_learning_rate``, ``set_steps``) is recorded in
``trainer.changes`` with the step it took effect; a Trainer given those changes
replays the run exactly (``Trainer(cfg, changes)``; ``legacy_numbers=True`` for a run
file of version 2, whose starting numbers came from torch's generator).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np

from . import curves
from .config import CURVE_DATA, LIVE_SETTINGS, NUMPY_STYLES, SETTINGS_BY_NAME, Config, ConfigError
from .history import HISTOGRAM_ROWS, HISTORY_ROWS, Log, PerStep
from .problem import make_problem
from .record import HISTOGRAM_KINDS, Change, Status
from .stats import GradientStats, Histograms, as_numpy
from .styles import MISTAKES, STYLES, style_info, written_style

QUIET_ALREADY = nullcontext()  # torch steps warn of nothing (a nullcontext can be entered again and again)

#: A live check (``checks=True``) looks at the first two steps (the second is the first with
#: anything left over in ``.grad``) and every this many after them: a forward and backward pass
#: in float64 NumPy, a small share of this many steps (docs/performance.md).
CHECK_EVERY = 200
MAX_KINKS = 512  # kinks marked in the fit chart; beyond, the grid alone


class Trainer:
    def __init__(
        self,
        cfg: Config,
        changes: Sequence[Change] = (),
        *,
        statistics: bool = True,
        histograms: bool = True,
        legacy_numbers: bool = False,
        checks: bool = False,
    ):
        cfg = Config.from_dict(cfg.to_dict())  # a Config(...) built by hand is checked too
        for change in changes:
            if change.setting not in LIVE_SETTINGS:
                raise ConfigError("changes", f"{change.setting!r} cannot change during a run; allowed {LIVE_SETTINGS}")
        self.cfg = cfg
        self.start = cfg  # the settings it started with (cfg follows the live changes)
        self.problem = make_problem(cfg, legacy_numbers)  # legacy: a run file of version 2 (problem.py)
        info = style_info(cfg.style, cfg.mistake)
        # With its mistake, if any, or with the learner's own backward pass
        self.net = (written_style(cfg.style) if cfg.backward else info.load())(self.problem, cfg)
        # The live check, for a backward pass written by hand: see _check
        self.checks = checks and info.live_check
        self.check: dict | None = None
        self.steps_done = 0
        self.status = Status.READY
        self.changes: list[Change] = []  # the live changes this run took, in order
        self._due = sorted(changes, key=lambda c: c.step)  # changes to replay, at their steps
        self.message = ""
        self.last: dict = {}
        self.kept = False  # whether the history kept the last step's row
        self.last_histograms: dict | None = None  # the histogram row of the last step, if any
        self.history = Log(HISTORY_ROWS)
        self.per_step = PerStep()  # every step's loss (and depth), for the exports
        self.histograms = Log(HISTOGRAM_ROWS, every=cfg.hist_every)
        self.stats = GradientStats(self.net) if statistics else None  # it keeps copies of the weights
        self.binning = Histograms(cfg.hist_bins)
        self.histogram_kinds: tuple[str, ...] = ("gradients",)  # see set_histogram_kinds
        self.recording_histograms = histograms  # a caller that shows none (the CLI) skips their cost
        self._fit: dict | None = None  # the last fit(), for the step it describes
        # NumPy warns of a diverging run's overflow (a status here, not warnings); torch does not,
        # so a torch step skips np.errstate, which costs as much as the rest of a step's bookkeeping.
        self._numpy = cfg.style in NUMPY_STYLES
        self._apply_due()

    @property
    def finished(self) -> bool:
        return self.status.ended

    @property
    def learning_rate(self) -> float:
        return self.net.learning_rate

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate from the next step on (validated like the config)."""
        self.net.learning_rate = SETTINGS_BY_NAME["lr"].parse(lr)
        self.changes.append(Change(self.steps_done, "lr", self.net.learning_rate))

    def set_steps(self, steps: int) -> None:
        """Change the run's length; a finished run that is given more steps can go on."""
        self.cfg = self.cfg.replace(steps=steps)
        self.changes.append(Change(self.steps_done, "steps", self.cfg.steps))
        if self.status == Status.DONE and self.steps_done < self.cfg.steps:
            self.status, self.message = Status.READY, ""
        elif self.status == Status.READY and self.steps_done >= self.cfg.steps:
            self._done()

    #: The live settings (``Setting.live``), each by the setter that changes it during a run.
    SETTERS = {"lr": set_learning_rate, "steps": set_steps}

    def change(self, setting: str, value) -> None:
        """A live change: ``setting`` is ``value`` from the next step on, recorded in ``changes``
        so that a replay takes it at the same step."""
        if setting not in LIVE_SETTINGS:
            raise ConfigError(setting, f"cannot change during a run; allowed {', '.join(LIVE_SETTINGS)}")
        self.SETTERS[setting](self, value)

    def set_histogram_kinds(self, kinds) -> None:
        """Record these kinds of histogram from the next step on (the gradients always). They do
        not change the run; each costs a pass like the gradients' at every histogram step."""
        unknown = [k for k in kinds if k not in HISTOGRAM_KINDS]
        if unknown:
            raise ConfigError("histograms", f"{unknown[0]!r} is not a kind; allowed {', '.join(HISTOGRAM_KINDS)}")
        self.histogram_kinds = tuple(k for k in HISTOGRAM_KINDS if k == "gradients" or k in kinds)

    def fit(self) -> dict | None:
        """With a curve for data, the network now: its prediction ``y`` at ``x`` (the chart's grid
        and every hidden unit's kink inside it, so the drawn line is exact between them) and
        ``kinks``, where a unit of the first ReLU layer turns on or off. None for random data."""
        if self.cfg.data not in CURVE_DATA:
            return None
        if self._fit is not None and self._fit["step"] == self.steps_done:
            return self._fit
        slope, intercept = self.net.hidden_lines()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            kinks = -intercept / slope
        kinks = np.sort(kinks[np.isfinite(kinks) & (kinks > curves.LOW) & (kinks < curves.HIGH)])
        if len(kinks) > MAX_KINKS:  # too many to mark; the grid alone draws the line
            kinks = kinks[:0]
        x = np.union1d(curves.grid(), kinks)
        with np.errstate(over="ignore", invalid="ignore"):
            y = self.net.predict(self.problem.inputs(x)).ravel()
        self._fit = {"step": self.steps_done, "x": x, "y": y, "kinks": kinks, "depth": self.net.depth}
        return self._fit

    def _apply_due(self) -> None:
        """Replay the changes that took effect at this step."""
        while self._due and self._due[0].step <= self.steps_done:
            change = self._due.pop(0)
            self.change(change.setting, change.value)

    def step(self) -> dict | None:
        """Take one step; return its row, or None when the run has already ended."""
        if self.finished:
            return None
        t = self.steps_done
        detailed = self.stats is not None and t % self.cfg.stats_every == 0 and self.history.wants(t)
        if detailed:
            self.stats.remember_weights(self.net)
        counted = self.recording_histograms and self.histograms.wants(t)
        extra = self.histogram_kinds[1:] if counted else ()  # beyond the gradients
        # A diverging run is a status, not warnings.
        quiet = np.errstate(over="ignore", invalid="ignore") if self._numpy or extra else QUIET_ALREADY
        weights = self._weights() if self.checks and (t < 2 or t % CHECK_EVERY == 0) else None
        with quiet:
            before = self.binning.before_step(self.net, extra) if extra else None
            loss = self.net.step()
        row = {"step": t, "loss": loss, "lr": self.net.learning_rate}
        depth = self.net.depth
        if depth is not None:
            row["depth"] = depth
        if detailed:
            row.update(self.stats.measure(self.net))
        self.per_step.append(loss, depth)
        self.steps_done = t + 1
        self.last = row
        self.kept = self.history.append(row)
        self.last_histograms = None
        if counted:
            self.last_histograms = {"step": t, **self.binning.measure(self.net)}
            if extra:
                self.last_histograms.update(before)
                self.last_histograms.update(self.binning.after_step(self.net, extra))
            self.histograms.append(self.last_histograms)
        if not math.isfinite(loss):
            self._diverged(t, loss)
            return row
        if weights is not None:
            self._check(t, weights)
        self._apply_due()
        if self.status == Status.READY and self.steps_done >= self.cfg.steps:
            self._done()
        return row

    def _weights(self) -> dict[str, np.ndarray]:
        """The weights before a checked step, copied: the step updates them in place."""
        return {name: as_numpy(w).astype(np.float64) for name, w in self.net.parameters().items()}

    def _check(self, t: int, weights: dict[str, np.ndarray]) -> None:
        """The live check of step ``t``: the gradients it used against the chain rule in float64
        (``gradcheck.live_check``); the latest that could tell is ``self.check``."""
        from .inspection.gradcheck import live_check

        net = self.net
        gradients = {name: as_numpy(g) for name, g in net.gradients().items()}
        layers = STYLES[self.cfg.style].layers
        data = (as_numpy(net.x), as_numpy(net.y), layers, net.depth, t, self.cfg.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # a run about to diverge is off, not a warning
            check = {**live_check(weights, gradients, *data), "every": CHECK_EVERY}
        if check["conclusive"] or self.check is None:
            self.check = check
        else:  # rounding hides the gradients now: the last check that could tell stands, and says so
            self.check.setdefault("hidden_from", t)

    def run(self, n: int | None = None) -> int:
        """Take up to ``n`` steps (until the run ends when None); return how many were taken."""
        taken = 0
        while (n is None or taken < n) and self.step() is not None:
            taken += 1
        return taken

    def _done(self) -> None:
        self.status = Status.DONE
        self.message = f"Finished {self.steps_done} steps; final loss {self.last.get('loss', math.nan):.4g}."

    def _diverged(self, t: int, loss: float) -> None:
        """The run ends at step ``t``: what to try, or with a classic mistake, what the mistake did."""
        self.status = Status.DIVERGED
        mistake = MISTAKES.get(self.cfg.mistake)
        advice = mistake.diverged if mistake is not None else suggest_smaller(self.learning_rate)
        self.message = f"The loss became {loss} at step {t}: training diverged. {advice}"


def suggest_smaller(lr: float) -> str:
    """What to try after ``lr`` diverged: a tenth of it, never a rate the settings refuse."""
    setting = SETTINGS_BY_NAME["lr"]
    smaller = float(f"{lr / 10:.1g}")
    if lr <= setting.low:
        return (
            f"Even the smallest learning rate allowed, {setting.low:g}, is too large for these sizes; "
            "make the batch, input, hidden or output size smaller."
        )
    if smaller < setting.low:
        return f"The learning rate {lr:g} is too large for this setup; try {setting.low:g}, the smallest allowed."
    return f"The learning rate {lr:g} is too large for this setup; try {smaller:g} or smaller."
