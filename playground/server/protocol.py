"""What crosses the pipe between the app's server and a training process, and the page's mirror of a run.

The server sends ``(run_id, number, command, *args)`` (a ``Command``, numbered per run); a
training process answers ``(run_id, Update)``: the run's state after the last command it carried
out, and what it recorded since its previous update. A page applies the updates to its
``RunView``, whose logs are fed the same rows as the engine's and so thin the same way.

The page and the pool import this module, never the training process's loop (``worker.py``);
nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..config import Config
from ..history import HISTOGRAM_ROWS, HISTORY_ROWS, Log, PerStep
from ..record import Change, Status

ORPHAN_S = 45.0  # a run whose page has been silent this long is dropped


class Command(StrEnum):
    """What the server asks of a training process about one run: sent as ``(run_id, number, command, *args)``."""

    OPEN = "open"  # (config dict, changes): start a run
    RESTORE = "restore"  # (path): take back a parked run
    PARK = "park"  # (path): write the run's whole state there and let it go

    TRAIN = "train"  # train until paused or finished
    PAUSE = "pause"
    STEP = "step"  # (n): take n steps, then pause
    SET = "set"  # (name, value): a live setting (config.LIVE_SETTINGS) from the next step on
    SPEED = "speed"  # (steps per second, or None for as fast as possible)
    INSPECT = "inspect"  # take one step, traced (inspection.step)
    WRITTEN = "written"  # (text): a learner's backward pass, checked on the inspected step (inspection.written)
    HISTOGRAMS = "histograms"  # (kinds): the kinds of histogram to record besides the gradients
    PING = "ping"  # the page is still open
    CLOSE = "close"


@dataclass
class Update:
    """What a worker sends its page: its state after the last command it carried out, and the
    rows it recorded since the previous update. ``Update()`` is a run's state before its first."""

    ack: int = 0  # the last command carried out (commands are numbered)
    rows: list[dict] = field(default_factory=list)  # history rows recorded since the last update
    hists: list[dict] = field(default_factory=list)  # histogram rows recorded since the last update
    last: dict = field(default_factory=dict)  # the latest row, kept or not
    steps_done: int = 0
    status: Status = Status.READY
    message: str = ""  # the trainer's word on a finished or diverged run
    running: bool = False
    steps_per_s: float = 0.0
    learning_rate: float = 0.0
    changes: list[Change] = field(default_factory=list)  # every live change so far (Trainer.changes)
    edges_low: dict[str, int] = field(default_factory=dict)  # per tensor: lowest histogram edge, 2**low
    sizes: dict[str, int] = field(default_factory=dict)  # per weight tensor: number of entries
    relu_layers: list[str] = field(default_factory=list)  # labels of the layers whose dead units are counted
    trained_s: float = 0.0  # seconds spent in training steps
    inspected: dict | None = None  # an inspected step: its intermediates, graph and twin (Inspection), sent once
    written: dict | None = None  # the verdict on a learner's backward pass (written.check_text), sent once
    error: str = ""  # the run could not start; nothing else is set
    parked: bool = False  # the run's state went to disk (Command.PARK); nothing else is set
    fit: dict | None = None  # a curve's fit (Trainer.fit), when it changed since the last update
    check: dict | None = None  # the live check of the gradients (Trainer.check), for a backward pass by hand
    losses: object = None  # every step's loss since the last update (an array), and depth (or None)
    depths: object = None


@dataclass
class RunView:
    """What the page knows of a run: the mirror of the worker's logs and its latest state.

    ``config`` is the settings the run started with; ``state.changes`` says what changed since.
    """

    config: Config
    state: Update = field(default_factory=Update)
    history: object = None
    histograms: object = None
    per_step: object = None  # every step's loss (history.PerStep)
    inspected: dict | None = None  # the last inspected step (inspection.step.Inspection.to_dict)
    walk_at: int = 0  # the stop its walk is at, kept here so that a reload comes back to it
    written: dict | None = None  # the verdict on the learner's last backward pass (written.check_text)
    error: str = ""  # why the run stopped or could not start
    fit: dict | None = None  # a curve's latest fit (Trainer.fit)

    def __post_init__(self):
        self.history = Log(HISTORY_ROWS)
        self.per_step = PerStep()
        self.histograms = Log(HISTOGRAM_ROWS, every=self.config.hist_every)
        self.state.learning_rate = self.config.lr

    @property
    def status(self) -> Status:
        return Status.ERROR if self.error else self.state.status

    @property
    def running(self) -> bool:
        return self.state.running and not self.error

    def apply(self, update: Update) -> None:
        if update.error:
            self.error = update.error
            return
        for row in update.rows:
            self.history.append(row)
        for row in update.hists:
            self.histograms.append(row)
        if update.losses is not None and len(update.losses):
            self.per_step.extend(update.losses, update.depths)
        if update.inspected is not None:  # sent once, with the step it describes
            self.inspected = update.inspected
            self.walk_at = 0  # a new step: its walk starts again
            self.written = None  # and a verdict was on the step before
        if update.written is not None:
            self.written = update.written
        if update.fit is not None:  # sent when it changed
            self.fit = update.fit
        update.rows, update.hists, update.inspected, update.fit, update.written = [], [], None, None, None  # kept
        update.losses = update.depths = None
        self.state = update
