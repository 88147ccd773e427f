"""Training in a process of its own, driven over a pipe.

Why a process: the page (Streamlit's server, building figures) and training
both want the CPU; in one process they fight over the GIL and training slows
to a crawl (see the README's benchmark). A worker process trains with one
intra-op thread and sends what it recorded, in batches, every ``FLUSH_S``.

Processes start from a fork server that has already imported torch and the
engine, so a new worker is ready in a fraction of a second instead of the ~3 s
that importing torch takes (and the fork server itself starts with the app).

A worker that hears nothing from its page for ``orphan_s`` seconds stops
training and exits: nothing keeps training for nobody.

    client = RunClient.start(config)      # in the server process
    client.request("train")               # send a command, wait for the worker's answer
    client.poll()                         # apply what the worker sent since to client.view
    client.view.history["loss"], client.view.status
"""

from __future__ import annotations

import dataclasses
import functools
import math
import multiprocessing
import select
import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from .config import Config, ConfigError
from .record import Change, Status

FLUSH_S = 0.05  # how often a training worker sends what it recorded
CHUNK_S = 0.02  # longest stretch of training between two looks at the pipe
ORPHAN_S = 45.0  # a worker whose page has been silent this long exits


# ---------------------------------------------------------------- what crosses the pipe


class Command(StrEnum):
    """What a page asks of its worker: sent as ``(number, command, *args)``."""

    TRAIN = "train"  # train until paused or finished
    PAUSE = "pause"
    STEP = "step"  # (n): take n steps, then pause
    LR = "lr"  # (lr): the learning rate from the next step on
    STEPS = "steps"  # (steps): the run's length
    SPEED = "speed"  # (steps per second, or None for as fast as possible)
    INSPECT = "inspect"  # take one step, traced (inspect_step)
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
    inspected: list[dict] | None = None  # an inspected step's intermediates, sent once
    error: str = ""  # the run could not start; nothing else is set


@functools.cache
def context():
    """The multiprocessing context: a fork server with torch preloaded where there is one."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["playground.warm"])
        return ctx
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the fork server now (it imports torch: seconds), so the first Train is quick."""
    if context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# ---------------------------------------------------------------- worker side


def serve(conn, cfg_dict: dict, orphan_s: float) -> None:
    """The worker's main loop (runs in the child process)."""
    import torch

    torch.set_num_threads(1)  # the page and the browser need the other core
    from .inspect_step import inspect_step
    from .trainer import Trainer

    try:
        trainer = Trainer(Config.from_dict(cfg_dict))
    except (ConfigError, RuntimeError, MemoryError) as error:
        conn.send(Update(error=str(error)))
        return
    sizes = {name: int(np.prod(w.shape)) for name, w in trainer.net.parameters().items()}
    relu_layers = [layer.label for layer in trainer.net.relu_layers]
    running = False
    cap = None  # most steps per second; None: as fast as possible
    ack = 0  # the last command carried out
    trained_s = 0.0  # time spent in training steps
    inspected = None  # the intermediates of an inspected step, until they are sent
    rows, hists = [], []
    last_flush = time.monotonic()
    window = []  # (time, steps_done) samples for steps/s

    def flush() -> bool:
        """Send what was recorded; False (keep it for later) when the page is not reading.

        Never blocks: a worker blocked on a full pipe would never notice that its page is gone.
        """
        nonlocal rows, hists, last_flush, inspected
        if not _writable(conn):
            return False
        now = time.monotonic()
        window.append((now, trainer.steps_done))
        while len(window) > 2 and now - window[0][0] > 1.0:
            window.pop(0)
        (t0, s0), (t1, s1) = window[0], window[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        conn.send(
            Update(
                ack=ack,
                rows=rows,
                hists=hists,
                last=trainer.last,
                steps_done=trainer.steps_done,
                status=trainer.status,
                message=trainer.message,
                running=running,
                steps_per_s=rate if running else 0.0,
                learning_rate=trainer.learning_rate,
                changes=list(trainer.changes),
                edges_low=trainer.binning.low,
                sizes=sizes,
                relu_layers=relu_layers,
                trained_s=trained_s,
                inspected=inspected,
            )
        )
        rows, hists, inspected = [], [], None
        last_flush = now
        return True

    def step(n: int, until: float = math.inf) -> None:
        """Up to ``n`` steps, stopping at time ``until`` (time.monotonic)."""
        nonlocal trained_s
        began = time.perf_counter()
        for _ in range(n):
            if time.monotonic() >= until:
                break
            row = trainer.step()
            if row is None:
                break
            if trainer.kept:
                rows.append(row)
            if trainer.last_histograms is not None:
                hists.append(trainer.last_histograms)
        trained_s += time.perf_counter() - began

    flush()
    heard = time.monotonic()
    while True:
        timeout = 0 if running else 0.5
        while conn.poll(timeout):
            timeout = 0
            try:
                ack, command, *args = conn.recv()
            except (EOFError, OSError):
                return
            heard = time.monotonic()
            if command == Command.TRAIN:
                running = not trainer.finished
            elif command == Command.PAUSE:
                running = False
            elif command == Command.STEP:
                running = False
                step(args[0])
            elif command == Command.LR:
                trainer.set_learning_rate(args[0])
            elif command == Command.STEPS:
                trainer.set_steps(args[0])
            elif command == Command.SPEED:
                cap = args[0]
            elif command == Command.INSPECT:
                running = False
                inspected = [dataclasses.asdict(e) for e in inspect_step(trainer)]
                if trainer.kept:
                    rows.append(trainer.last)
                if trainer.last_histograms is not None:
                    hists.append(trainer.last_histograms)
            elif command == Command.PING:
                pass  # the page is still there
            elif command == Command.CLOSE:
                return
            flush()  # every command is answered with the state after it
        if time.monotonic() - heard > orphan_s:
            return  # the page is gone
        if not running:
            continue
        if rows and time.monotonic() - last_flush > FLUSH_S and not flush():
            time.sleep(0.01)  # the page is behind: let it catch up before training on
            continue
        start = time.monotonic()
        if cap:
            step(1)
            time.sleep(max(0.0, 1.0 / cap - (time.monotonic() - start)))
        else:
            step(1_000_000, until=start + CHUNK_S)
        if trainer.finished:
            running = False
            flush()
        elif time.monotonic() - last_flush >= FLUSH_S:
            flush()


def _report_devices(conn) -> None:
    from . import devices

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
    inspected: list | None = None  # the intermediates of the last inspected step (dicts)
    error: str = ""  # why the run stopped or could not start

    def __post_init__(self):
        from .history import HISTOGRAM_ROWS, HISTORY_ROWS, Log

        self.history = Log(HISTORY_ROWS)
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
        if update.inspected is not None:  # sent once, with the step it describes
            self.inspected = update.inspected
        update.rows, update.hists, update.inspected = [], [], None  # kept above; the rest is the state
        self.state = update


STOPPED = "The training process stopped."


class RunClient:
    """The page's handle on one worker process."""

    def __init__(self, process, conn, view: RunView):
        self.process, self.conn, self.view = process, conn, view
        self.sent = 0  # commands are numbered; the worker's updates say which it has done
        self.train_sent = 0  # the number of the last Train command
        self.settings = view.config  # the settings as last sent: the start, then live changes (the page's)

    @classmethod
    def start(cls, cfg: Config, orphan_s: float = ORPHAN_S) -> RunClient:
        ctx = context()
        parent, child = ctx.Pipe()
        process = ctx.Process(target=serve, args=(child, cfg.to_dict(), orphan_s), daemon=True)
        process.start()
        child.close()
        return cls(process, parent, RunView(cfg))

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, command: Command, *args) -> None:
        self.sent += 1
        if command == Command.TRAIN:
            self.train_sent = self.sent
        try:
            self.conn.send((self.sent, command, *args))
        except (BrokenPipeError, OSError):
            self.view.error = self.view.error or STOPPED

    def poll(self, wait: float = 0.0) -> bool:
        """Apply every update waiting in the pipe (waiting up to ``wait`` s for the first)."""
        got = False
        try:
            while self.conn.poll(wait):
                self.view.apply(self.conn.recv())
                got, wait = True, 0
        except (EOFError, OSError):
            if not self.view.status.ended:
                self.view.error = STOPPED
        return got

    def request(self, command: Command, *args, timeout: float = 10.0) -> None:
        """Send a command and wait for the worker's answer (its state after the command)."""
        self.send(command, *args)
        deadline = time.monotonic() + timeout
        while self.view.state.ack < self.sent and time.monotonic() < deadline and not self.view.error:
            self.poll(wait=0.05)

    def close(self) -> None:
        self.send(Command.CLOSE)
        try:
            self.conn.close()
        except OSError:
            pass
        self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()
