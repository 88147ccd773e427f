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

import numpy as np

from .config import Config, ConfigError

FLUSH_S = 0.05  # how often a training worker sends what it recorded
CHUNK_S = 0.02  # longest stretch of training between two looks at the pipe
ORPHAN_S = 45.0  # a worker whose page has been silent this long exits


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
        conn.send({"error": str(error)})
        return
    sizes = {name: int(np.prod(w.shape)) for name, w in trainer.net.parameters().items()}
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
            {
                "rows": rows,
                "hists": hists,
                "last": trainer.last,
                "steps_done": trainer.steps_done,
                "status": trainer.status,
                "message": trainer.message,
                "running": running,
                "steps_per_s": rate if running else 0.0,
                "edges": trainer.binning.low,
                "learning_rate": trainer.learning_rate,
                "sizes": sizes,
                "ack": ack,
                "trained_s": trained_s,
                **({"inspected": inspected} if inspected is not None else {}),
            }
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
            if command == "train":
                running = not trainer.finished
            elif command == "pause":
                running = False
            elif command == "step":
                running = False
                step(args[0])
            elif command == "lr":
                trainer.set_learning_rate(args[0])
            elif command == "steps":
                trainer.set_steps(args[0])
            elif command == "speed":
                cap = args[0]
            elif command == "inspect":
                running = False
                inspected = [dataclasses.asdict(e) for e in inspect_step(trainer)]
                if trainer.kept:
                    rows.append(trainer.last)
                if trainer.last_histograms is not None:
                    hists.append(trainer.last_histograms)
            elif command == "ping":
                pass  # the page is still there
            elif command == "close":
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
    """What the page knows of a run: the mirror of the worker's logs and its latest state."""

    config: Config
    history: object = None
    histograms: object = None
    last: dict = field(default_factory=dict)
    steps_done: int = 0
    status: str = "ready"
    message: str = ""
    running: bool = False
    steps_per_s: float = 0.0
    edges_low: dict = field(default_factory=dict)
    learning_rate: float = 0.0
    sizes: dict = field(default_factory=dict)  # entries per weight tensor
    ack: int = 0  # the last command the worker has carried out
    trained_s: float = 0.0  # seconds the worker spent in training steps
    inspected: list | None = None  # the intermediates of the last inspected step (dicts)
    error: str = ""

    def __post_init__(self):
        from .history import HISTOGRAM_ROWS, HISTORY_ROWS, Log

        self.history = Log(HISTORY_ROWS)
        self.histograms = Log(HISTOGRAM_ROWS, every=self.config.hist_every)
        self.learning_rate = self.config.lr

    def apply(self, update: dict) -> None:
        if "error" in update:
            self.error = update["error"]
            self.status = "error"
            self.running = False
            return
        for row in update["rows"]:
            self.history.append(row)
        for row in update["hists"]:
            self.histograms.append(row)
        for key in (
            "last",
            "steps_done",
            "status",
            "message",
            "running",
            "steps_per_s",
            "learning_rate",
            "sizes",
            "ack",
            "trained_s",
        ):
            setattr(self, key, update[key])
        if "inspected" in update:  # sent once, with the step it describes
            self.inspected = update["inspected"]
        self.edges_low = update["edges"]


class RunClient:
    """The page's handle on one worker process."""

    def __init__(self, process, conn, view: RunView):
        self.process, self.conn, self.view = process, conn, view
        self.sent = 0  # commands are numbered; the worker's updates say which it has done

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

    def send(self, command: str, *args) -> None:
        self.sent += 1
        try:
            self.conn.send((self.sent, command, *args))
        except (BrokenPipeError, OSError):
            self.view.error = self.view.error or "The training process stopped."

    def poll(self, wait: float = 0.0) -> bool:
        """Apply every update waiting in the pipe (waiting up to ``wait`` s for the first)."""
        got = False
        try:
            while self.conn.poll(wait):
                self.view.apply(self.conn.recv())
                got, wait = True, 0
        except (EOFError, OSError):
            if not self.view.error and self.view.status not in ("done", "diverged"):
                self.view.error = "The training process stopped."
        return got

    def request(self, command: str, *args, timeout: float = 10.0) -> None:
        """Send a command and wait for the worker's answer (its state after the command)."""
        self.send(command, *args)
        deadline = time.monotonic() + timeout
        while self.view.ack < self.sent and time.monotonic() < deadline and not self.view.error:
            self.poll(wait=0.05)

    def close(self) -> None:
        self.send("close")
        try:
            self.conn.close()
        except OSError:
            pass
        self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()
