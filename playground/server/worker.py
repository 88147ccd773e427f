"""A training process: it hosts many runs, trains those that train in turns, and reports.

Why processes: the page (Streamlit's server, building figures) and training both want the CPU;
in one process they fight over the GIL and training slows to a crawl (docs/performance.md). A
training process (``serve``) trains with one intra-op thread, hosts many runs, trains those that
train in turns, and sends what they recorded, in batches, every ``FLUSH_S``. What crosses its
pipe is in ``protocol.py``; ``pool.py`` is the server's side: which process holds which run, the
line to train, parking runs on disk.

Processes start from a fork server that has already imported torch and the engine
(``launch.py``, ``warm.py``), so a new process is ready at once instead of after torch's import.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import time

import numpy as np

from .. import threads
from ..config import Config, ConfigError
from ..record import Change
from .protocol import ORPHAN_S, Command, Update

FLUSH_S = 0.05  # how often a training run sends what it recorded
CHUNK_S = 0.02  # a run's turn at training, between two looks at the pipe

#: A training process warms the optimizers this long after it starts, once nothing trains: not
#: while the first page is still being drawn, nor while the first run trains.
WARM_AFTER_S = 3.0


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
        self.written_values = None  # that step as a learner's backward pass reads it (Inspection.values)
        self.written_t = None  # and its t
        self.written = None  # the verdict on a learner's backward pass, until it is sent
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
        elif command == Command.SET:
            trainer.change(*args)
        elif command == Command.SPEED:
            self.cap = args[0]
        elif command == Command.HISTOGRAMS:
            trainer.set_histogram_kinds(args[0])
        elif command == Command.WRITTEN:
            self.check_written(args[0])
        elif command == Command.INSPECT:  # the run's next step, from where it stands (inspect_run)
            from ..inspection.step import inspect_run

            self.running = False
            threads.apply(trainer.cfg.threads, trainer.cfg.style)
            per_step, before = (self.trained_s / trainer.steps_done if trainer.steps_done else 0.0), trainer.steps_done
            inspection = inspect_run(trainer, per_step)
            self.inspected, self.written_values = inspection.to_dict(), inspection.values
            self.written_t = inspection.graph.t if inspection.graph is not None else None
            if trainer.steps_done > before:  # it took the step (a diverged run's copy took it instead)
                if trainer.kept:
                    self.rows.append(trainer.last)
                if trainer.last_histograms is not None:
                    self.hists.append(trainer.last_histograms)

    def check_written(self, text: str) -> None:
        """A learner's backward pass on the inspected step (the run's next, inspected first if
        none is): its verdict goes to the page once."""
        from ..inspection import written

        if self.written_values is None:
            self.command(self.ack, Command.INSPECT, ())
        if self.written_values is None:  # a finished run at its limit, or a style written for none
            self.written = {"refused": {"line": 1, "why": "no step of this run could be looked inside"}, "lines": []}
            return
        try:
            self.written = written.check_text(text, self.written_values, self.trainer.cfg.dtype)
        except Exception as error:  # noqa: BLE001 - the grammar lets nothing through that fails so; this process serves others
            self.written = {"failed": {"line": 1, "why": f"{type(error).__name__}: {str(error)[:200]}"}, "lines": []}
        self.written["t"] = self.written_t

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
            written=self.written,
            check=trainer.check,
        )
        if trainer.steps_done != self.fit_sent:
            update.fit = trainer.fit()
            self.fit_sent = trainer.steps_done
        update.losses, update.depths = trainer.per_step.since(self.steps_sent)
        self.steps_sent = len(trainer.per_step)
        self.rows, self.hists, self.inspected, self.written = [], [], None, None
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
    """A training process's main loop (``Worker.loop``), on the pipe ``conn`` to the server."""
    Worker(conn, orphan_s).loop()


class Worker:
    """The runs of one training process, and its pipe to the server.

    Messages in: ``(run_id, number, command, *args)``. Out: ``(run_id, Update)``. The runs that
    train share the process in turns of ``CHUNK_S`` each (or one step when a speed cap says it is
    due), so every run's curve moves at once however many there are. A run whose page has said
    nothing for ``orphan_s`` seconds is dropped; when the server goes, the process exits.
    """

    def __init__(self, conn, orphan_s: float = ORPHAN_S):
        self.conn = conn
        self.orphan_s = orphan_s
        self.runs: dict[int, Hosted] = {}
        self.order: list[int] = []  # round robin over the runs that train
        self.warm_at = time.monotonic() + WARM_AFTER_S  # then, once nothing trains: warm.background()

    def loop(self) -> None:
        from . import warm  # torch, warmed (the fork server has imported it already)

        while True:
            busy = any(run.running for run in self.runs.values())
            if not busy and time.monotonic() >= self.warm_at:
                warm.background()  # the optimizers' first use (more imports), in a thread
                self.warm_at = math.inf
            if not self.read(0 if busy else 0.5):
                return  # the server is gone
            self.turns()

    def read(self, timeout: float) -> bool:
        """Carry out every message that has come (waiting up to ``timeout`` for the first); False
        when the server has gone."""
        try:
            while self.conn.poll(timeout):
                timeout = 0
                run_id, number, command, *args = self.conn.recv()
                try:
                    self.handle(run_id, number, command, tuple(args))
                except Exception as error:  # one run's failure must not end the others'
                    self.fail(run_id, number, error)
        except (EOFError, OSError):
            return False
        return True

    def send(self, run_id: int, run: Hosted) -> bool:
        """Send what the run's page has not had, without ever blocking: a process blocked on a full
        pipe would never hear the server. The update is made only when it can go: making it hands
        over what was recorded since the last (``Hosted.update``), and the run sends it later."""
        if not _writable(self.conn):
            return False
        self.conn.send((run_id, run.update()))
        return True

    def handle(self, run_id: int, number: int, command: Command, args: tuple) -> None:
        from ..trainer import Trainer  # here, not at the top: the server imports this module for serve

        if command == Command.OPEN:
            try:
                trainer = Trainer(Config.from_dict(args[0]), [Change(*c) for c in args[1]], checks=True)
            except (ConfigError, RuntimeError, MemoryError) as error:
                self.conn.send((run_id, Update(ack=number, error=str(error))))
                return
            self.runs[run_id] = Hosted(run_id, trainer)
        elif command == Command.RESTORE:
            with open(args[0], "rb") as file:
                self.runs[run_id] = pickle.load(file)
            os.unlink(args[0])
            self.runs[run_id].heard = time.monotonic()
        run = self.runs.get(run_id)
        if run is None:
            return  # dropped already (closed, or orphaned)
        if command in (Command.PARK, Command.CLOSE):
            self.leave(run_id, number, command, args)
            return
        if command in (Command.OPEN, Command.RESTORE):
            run.ack = number
        else:
            run.command(number, command, args)
        self.send(run_id, run)  # every command is answered with the state after it (or soon after: dirty)

    def leave(self, run_id: int, number: int, command: Command, args: tuple) -> None:
        """A run leaves the process: parked (its whole state written to ``args[0]``) or closed."""
        run = self.runs.pop(run_id)
        if command == Command.PARK:
            run.running = False
            with open(args[0], "wb") as file:
                pickle.dump(run, file, protocol=pickle.HIGHEST_PROTOCOL)
        _give_memory_back()
        if command == Command.PARK:
            self.conn.send((run_id, Update(ack=number, parked=True)))

    def fail(self, run_id: int, number: int, error: Exception) -> None:
        self.runs.pop(run_id, None)
        self.conn.send((run_id, Update(ack=number, error=f"{type(error).__name__}: {error}")))

    def turns(self) -> None:
        """One round: drop orphans, give each training run its turn, send what is due."""
        now = time.monotonic()
        for run_id in [i for i, run in self.runs.items() if now - run.heard > self.orphan_s]:
            del self.runs[run_id]  # its page is gone
        training = [i for i, run in self.runs.items() if run.running]
        # Runs that have not had a turn go first: a room that presses Train together sees first steps at once.
        self.order = [i for i in training if i not in self.order] + [i for i in self.order if i in training]
        for run_id in list(self.order):
            run = self.runs[run_id]
            if run.unsent and now - run.last_flush > FLUSH_S and not _writable(self.conn):
                continue  # the server is behind: let it catch up before training on
            try:
                run.turn(CHUNK_S)
            except Exception as error:  # e.g. out of memory in one run: that run ends, the others go on
                self.fail(run_id, run.ack, error)
                continue
            if not run.running or time.monotonic() - run.last_flush >= FLUSH_S:
                self.send(run_id, run)
        if self.order:
            self.order.append(self.order.pop(0))
        for run_id, run in self.runs.items():
            if run.dirty and not run.running:
                self.send(run_id, run)
        capped = [run for run in self.runs.values() if run.running and run.cap]
        if capped and len(capped) == len(training):  # only slow-motion runs: sleep until one is due
            time.sleep(max(0.0, min(run.next_step for run in capped) - time.monotonic()))


def _writable(conn) -> bool:
    """Whether a send would not block (a Unix socket is writable while 3/4 of its buffer is free)."""
    try:
        return bool(select.select([], [conn.fileno()], [], 0)[1])
    except (OSError, ValueError):
        return False
