"""The trainer: runs one style a step at a time and records what happened.

    trainer = Trainer(Config.for_style("module"))
    trainer.run(500)
    trainer.history["loss"]        # per kept step
    trainer.last                   # the latest row, always
    trainer.status, trainer.message

A row holds the step index (from 0, as the tutorial's ``t``), the loss and, for
DynamicNet, the depth drawn. Every ``stats_every`` steps it also holds per
weight tensor the gradient statistics (see ``stats.GradientStats``; NaN in the
rows between). Every ``hist_every`` steps the gradient histograms go to
``trainer.histograms``. A pass of statistics, or of histograms, costs about half
a training step at the tutorial's sizes, so by default each is taken every 20
steps (the README's benchmark has the cost); ``stats_every=1`` records
everything at every step. Both logs are bounded (see ``history``).
A NaN or infinite loss ends the run with status "diverged" and a message that
says where and what to try; it never raises.
"""

from __future__ import annotations

import math

import numpy as np

from .config import SETTINGS_BY_NAME, Config
from .history import HISTOGRAM_ROWS, HISTORY_ROWS, Log
from .problem import make_problem
from .stats import GradientStats, Histograms
from .styles import STYLES

READY, DONE, DIVERGED = "ready", "done", "diverged"


class Trainer:
    def __init__(self, cfg: Config):
        cfg = Config.from_dict(cfg.to_dict())  # a Config(...) built by hand is checked too
        self.cfg = cfg
        self.problem = make_problem(cfg)
        self.net = STYLES[cfg.style].load()(self.problem, cfg)
        self.steps_done = 0
        self.status = READY
        self.message = ""
        self.last: dict = {}
        self.kept = False  # whether the history kept the last step's row
        self.last_histograms: dict | None = None  # the histogram row of the last step, if any
        self.history = Log(HISTORY_ROWS)
        self.histograms = Log(HISTOGRAM_ROWS, every=cfg.hist_every)
        self.stats = GradientStats(self.net)
        self.binning = Histograms(cfg.hist_bins)

    @property
    def finished(self) -> bool:
        return self.status != READY

    @property
    def learning_rate(self) -> float:
        return self.net.learning_rate

    def set_learning_rate(self, lr: float) -> None:
        """Change the learning rate from the next step on (validated like the config)."""
        self.net.learning_rate = SETTINGS_BY_NAME["lr"].parse(lr)

    def set_steps(self, steps: int) -> None:
        """Change the run's length; a finished run that is given more steps can go on."""
        self.cfg = self.cfg.replace(steps=steps)
        if self.status == DONE and self.steps_done < self.cfg.steps:
            self.status, self.message = READY, ""
        elif self.status == READY and self.steps_done >= self.cfg.steps:
            self._done()

    def step(self) -> dict | None:
        """Take one step; return its row, or None when the run has already ended."""
        if self.finished:
            return None
        t = self.steps_done
        detailed = t % self.cfg.stats_every == 0 and self.history.wants(t)
        if detailed:
            self.stats.remember_weights(self.net)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is a status, not warnings
            loss = self.net.step()
        row = {"step": t, "loss": loss}
        depth = getattr(self.net, "depth", None)
        if depth is not None:
            row["depth"] = depth
        if detailed:
            row.update(self.stats.measure(self.net))
        self.steps_done = t + 1
        self.last = row
        self.kept = self.history.append(row)
        self.last_histograms = None
        if self.histograms.wants(t):
            self.last_histograms = {"step": t, **self.binning.measure(self.net)}
            self.histograms.append(self.last_histograms)
        if not math.isfinite(loss):
            self._diverged(t, loss)
        elif self.steps_done >= self.cfg.steps:
            self._done()
        return row

    def run(self, n: int | None = None) -> int:
        """Take up to ``n`` steps (all that remain when None); return how many were taken."""
        remaining = self.cfg.steps - self.steps_done
        n = remaining if n is None else min(n, remaining)
        taken = 0
        while taken < n and self.step() is not None:
            taken += 1
        return taken

    def _done(self) -> None:
        self.status = DONE
        self.message = f"Finished {self.steps_done} steps; final loss {self.last.get('loss', math.nan):.4g}."

    def _diverged(self, t: int, loss: float) -> None:
        self.status = DIVERGED
        lr = self.learning_rate
        self.message = (
            f"The loss became {loss} at step {t}: training diverged. "
            f"The learning rate {lr:g} is too large for this setup; try {lr / 10:g} or smaller."
        )
