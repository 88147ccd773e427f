"""Training processes, and what crosses the pipe between them and the app's server.

Why processes: the page (Streamlit's server, building figures) and training both
want the CPU; in one process they fight over the GIL and training slows to a crawl
(docs/performance.md). A training process (``serve``) trains with one
intra-op thread, hosts many runs, trains those that train in turns, and sends what
they recorded, in batches, every ``FLUSH_S``. ``playground.pool`` is the server's
side: which process holds which run, the line to train, parking runs on disk.

Processes start from a fork server that has already imported torch and the
engine, so a new process is ready at once instead of after torch's import (and the
fork server itself starts with the app).
"""

from __future__ import annotations

import math
import os
import select
import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from .. import threads
from ..config import Config, ConfigError
from ..record import Change, Status
from .launch import context

FLUSH_S = 0.05  # how often a training run sends what it recorded
CHUNK_S = 0.02  # a run's turn at training, between two looks at the pipe
ORPHAN_S = 45.0  # a run whose page has been silent this long is dropped


# ---------------------------------------------------------------- what crosses the pipe


class Command(StrEnum):
    """What the server asks of a training process about one run: sent as ``(run_id, number, command, *args)``."""

    OPEN = "open"  # (config dict, changes): start a run
    RESTORE = "restore"  # (path): take back a parked run
    PARK = "park"  # (path): write the run's whole state there and let it go

    TRAIN = "train"  # train until paused or finished
    PAUSE = "pause"
    STEP = "step"  # (n): take n steps, then pause
    LR = "lr"  # (lr): the learning rate from the next step on
    STEPS = "steps"  # (steps): the run's length
    SPEED = "speed"  # (steps per second, or None for as fast as possible)
    INSPECT = "inspect"  # take one step, traced (inspection.step)
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
    error: str = ""  # the run could not start; nothing else is set
    parked: bool = False  # the run's state went to disk (Command.PARK); nothing else is set
    fit: dict | None = None  # a curve's fit (Trainer.fit), when it changed since the last update
    losses: object = None  # every step's loss since the last update (an array), and depth (or None)
    depths: object = None


#: A training process warms the optimizers this long after it starts, once nothing trains: not
#: while the first page is still being drawn, nor while the first run trains.
WARM_AFTER_S = 3.0


# ---------------------------------------------------------------- worker side


class Hosted:
    """One run inside a training process: its Trainer, and what its page has not seen yet."""

    def __init__(self, run_id: int, trainer):
        self.id = run_id
        self.trainer = trainer
        self.sizes = {name: int(np.prod(w.shape)) for name, w in trainer.net.parameters().items()}
        self.relu_layers = [layer.label for layer in trainer.net.relu_layers]
        self.running = False
        self.cap: float | None = None  # most steps per second; None: as fast as possible
        self.next_step = 0.0  # with a cap: when the next step is due (time.monotonic)
        self.ack = 0  # the last command carried out
        self.trained_s = 0.0  # time spent in training steps
        self.inspected = None  # the intermediates of an inspected step, until they are sent
        self.rows: list[dict] = []
        self.hists: list[dict] = []
        self.window: list[tuple[float, int]] = []  # (time, steps_done) samples for steps/s
        self.last_flush = 0.0
        self.dirty = True  # something to send
        self.heard = time.monotonic()
        self.fit_sent = -1  # the step of the last fit sent
        self.steps_sent = 0  # steps whose loss the page has

    @property
    def unsent(self) -> bool:
        """Whether it recorded something its page has not had."""
        return bool(self.rows) or len(self.trainer.per_step) > self.steps_sent

    def command(self, ack: int, command: Command, args: tuple) -> None:
        trainer = self.trainer
        self.ack, self.heard, self.dirty = ack, time.monotonic(), True
        if command == Command.TRAIN:
            self.running = not trainer.finished
        elif command == Command.PAUSE:
            self.running = False
        elif command == Command.STEP:
            self.running = False
            self.train(args[0])
        elif command == Command.LR:
            trainer.set_learning_rate(args[0])
        elif command == Command.STEPS:
            trainer.set_steps(args[0])
        elif command == Command.SPEED:
            self.cap = args[0]
        elif command == Command.HISTOGRAMS:
            trainer.set_histogram_kinds(args[0])
        elif command == Command.INSPECT:
            from ..inspection.step import inspect_backprop

            self.running = False
            threads.apply(trainer.cfg.threads, trainer.cfg.style)
            self.inspected = inspect_backprop(trainer).to_dict()
            if trainer.kept:
                self.rows.append(trainer.last)
            if trainer.last_histograms is not None:
                self.hists.append(trainer.last_histograms)

    def train(self, n: int, until: float = math.inf) -> None:
        """Up to ``n`` steps, stopping at time ``until`` (time.monotonic)."""
        trainer = self.trainer
        threads.apply(trainer.cfg.threads, trainer.cfg.style)  # the count the run records (the pool chose it)
        began = time.perf_counter()
        for _ in range(n):
            if time.monotonic() >= until:
                break
            row = trainer.step()
            if row is None:
                break
            if trainer.kept:
                self.rows.append(row)
            if trainer.last_histograms is not None:
                self.hists.append(trainer.last_histograms)
        self.trained_s += time.perf_counter() - began
        self.dirty = True
        if trainer.finished:
            self.running = False

    def turn(self, slice_s: float) -> None:
        """This run's turn at training: a slice of time, or one step when a speed cap says it is due."""
        now = time.monotonic()
        if self.cap:
            if now >= self.next_step:
                self.train(1)
                self.next_step = max(self.next_step + 1.0 / self.cap, now)
        else:
            self.train(1_000_000, until=now + slice_s)

    def update(self) -> Update:
        """What to send the page now; resets what was recorded since the last update."""
        trainer, now = self.trainer, time.monotonic()
        self.window.append((now, trainer.steps_done))
        while len(self.window) > 2 and now - self.window[0][0] > 1.0:
            self.window.pop(0)
        (t0, s0), (t1, s1) = self.window[0], self.window[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        update = Update(
            ack=self.ack,
            rows=self.rows,
            hists=self.hists,
            last=trainer.last,
            steps_done=trainer.steps_done,
            status=trainer.status,
            message=trainer.message,
            running=self.running,
            steps_per_s=rate if self.running else 0.0,
            learning_rate=trainer.learning_rate,
            changes=list(trainer.changes),
            edges_low=dict(trainer.binning.low),
            sizes=self.sizes,
            relu_layers=self.relu_layers,
            trained_s=self.trained_s,
            inspected=self.inspected,
        )
        if trainer.steps_done != self.fit_sent:
            update.fit = trainer.fit()
            self.fit_sent = trainer.steps_done
        update.losses, update.depths = trainer.per_step.since(self.steps_sent)
        self.steps_sent = len(trainer.per_step)
        self.rows, self.hists, self.inspected = [], [], None
        self.last_flush, self.dirty = now, False
        return update


def _give_memory_back() -> None:
    """Return freed heap to the system (glibc keeps it otherwise): a run that left must not stay in RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def serve(conn, orphan_s: float = ORPHAN_S) -> None:
    """A training process's main loop: host runs, train those that train in turns, report.

    Messages in: ``(run_id, number, command, *args)``. Out: ``(run_id, Update)``. The runs that
    train share the process in turns of ``CHUNK_S`` each (or one step when a speed cap says it is
    due), so every run's curve moves at once however many there are. A run whose page has said
    nothing for ``orphan_s`` seconds is dropped; when the server goes, the process exits.
    """
    import pickle

    from ..trainer import Trainer
    from . import warm  # torch, warmed (the fork server has imported it already)

    warm_at = time.monotonic() + WARM_AFTER_S  # then, once nothing trains: warm.background()
    runs: dict[int, Hosted] = {}

    def send(run_id: int, run: Hosted) -> bool:
        """Send what the run's page has not had, without ever blocking: a process blocked on a full
        pipe would never hear the server. The update is made only when it can go: making it hands
        over what was recorded since the last (``Hosted.update``), and the run sends it later."""
        if not _writable(conn):
            return False
        conn.send((run_id, run.update()))
        return True

    def handle(run_id: int, number: int, command: Command, args: tuple) -> None:
        if command == Command.OPEN:
            try:
                trainer = Trainer(Config.from_dict(args[0]), [Change(*c) for c in args[1]])
            except (ConfigError, RuntimeError, MemoryError) as error:
                conn.send((run_id, Update(ack=number, error=str(error))))
                return
            runs[run_id] = Hosted(run_id, trainer)
        elif command == Command.RESTORE:
            with open(args[0], "rb") as handle_:
                runs[run_id] = pickle.load(handle_)
            os.unlink(args[0])
            runs[run_id].heard = time.monotonic()
        run = runs.get(run_id)
        if run is None:
            return  # dropped already (closed, or orphaned)
        if command == Command.PARK:
            run.running = False
            with open(args[0], "wb") as handle_:
                pickle.dump(run, handle_, protocol=pickle.HIGHEST_PROTOCOL)
            del runs[run_id]
            _give_memory_back()
            conn.send((run_id, Update(ack=number, parked=True)))
            return
        if command == Command.CLOSE:
            del runs[run_id]
            _give_memory_back()
            return
        if command not in (Command.OPEN, Command.RESTORE):
            run.command(number, command, args)
        else:
            run.ack = number
        send(run_id, run)  # every command is answered with the state after it (or soon after: dirty)

    def fail(run_id: int, number: int, error: Exception) -> None:
        runs.pop(run_id, None)
        conn.send((run_id, Update(ack=number, error=f"{type(error).__name__}: {error}")))

    order: list[int] = []  # round robin over the runs that train
    while True:
        busy = any(run.running for run in runs.values())
        if not busy and time.monotonic() >= warm_at:
            warm.background()  # the optimizers' first use (more imports), in a thread
            warm_at = math.inf
        timeout = 0 if busy else 0.5
        try:
            while conn.poll(timeout):
                timeout = 0
                run_id, number, command, *args = conn.recv()
                try:
                    handle(run_id, number, command, tuple(args))
                except Exception as error:  # one run's failure must not end the others'
                    fail(run_id, number, error)
        except (EOFError, OSError):
            return  # the server is gone
        now = time.monotonic()
        for run_id in [i for i, run in runs.items() if now - run.heard > orphan_s]:
            del runs[run_id]  # its page is gone
        training = [i for i, run in runs.items() if run.running]
        # Runs that have not had a turn go first: a room that presses Train together sees first steps at once.
        order = [i for i in training if i not in order] + [i for i in order if i in training]
        for run_id in list(order):
            run = runs[run_id]
            if run.unsent and now - run.last_flush > FLUSH_S and not _writable(conn):
                continue  # the server is behind: let it catch up before training on
            try:
                run.turn(CHUNK_S)
            except Exception as error:  # e.g. out of memory in one run: that run ends, the others go on
                fail(run_id, run.ack, error)
                continue
            if not run.running or time.monotonic() - run.last_flush >= FLUSH_S:
                send(run_id, run)
        if order:
            order.append(order.pop(0))
        for run_id, run in runs.items():
            if run.dirty and not run.running:
                send(run_id, run)
        capped = [run for run in runs.values() if run.running and run.cap]
        if capped and len(capped) == len(training):  # only slow-motion runs: sleep until one is due
            time.sleep(max(0.0, min(run.next_step for run in capped) - time.monotonic()))


def _report_devices(conn) -> None:
    from .. import devices

    try:
        conn.send((devices.available(), devices.why_no_cuda()))
    except OSError:  # nobody is waiting any more (the server stopped)
        pass


def probe_devices(timeout: float = 120.0) -> tuple[list[str], str]:
    """The devices this machine can train on, asked of a worker process (the server never imports torch)."""
    ctx = context()
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_report_devices, args=(child,), daemon=True)
    process.start()
    child.close()
    try:
        if parent.poll(timeout):
            return parent.recv()
    except (EOFError, OSError):
        pass
    finally:
        process.join(timeout=1.0)
    return ["cpu"], "Could not check for GPUs; offering the CPU only."


def _writable(conn) -> bool:
    """Whether a send would not block (a Unix socket is writable while 3/4 of its buffer is free)."""
    try:
        return bool(select.select([], [conn.fileno()], [], 0)[1])
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- page side


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
    error: str = ""  # why the run stopped or could not start
    fit: dict | None = None  # a curve's latest fit (Trainer.fit)

    def __post_init__(self):
        from ..history import HISTOGRAM_ROWS, HISTORY_ROWS, Log, PerStep

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
        if update.fit is not None:  # sent when it changed
            self.fit = update.fit
        update.rows, update.hists, update.inspected, update.fit = [], [], None, None  # kept above
        update.losses = update.depths = None
        self.state = update
