"""The server's training processes, the runs they hold, and the line to train.

The number of processes and the memory that runs hold are settings of the server
(``Limits``), whatever the number of visitors:

- ``training_processes`` processes train every run (``worker.serve``). Each hosts many
  runs and trains those that train in turns of 20 ms, so every visitor's curve moves at
  once (time slices, not first come first served: a lecture hall presses Train together).
- As many runs train at once as the memory bound holds (a training run is resident), or at
  most ``max_concurrent_runs`` where a deployment sets it. A run asked to train (or to step)
  beyond that waits in a first-come-first-served line; its page says its place and a
  rough wait, and it starts by itself when a run ahead of it stops.
- Runs resident in the processes hold at most ``memory_mb`` (estimated per run by
  ``Config.estimated_mb``). When a run needs room, paused and finished runs go to disk
  (``Command.PARK``: the whole run, pickled) and come back exactly when next used. A
  finished run is parked at once: it holds no process.
- A run whose page has said nothing for ``orphan_s`` seconds is dropped, wherever it is.
- A process that dies (killed, out of memory) costs only the runs it held: their pages
  get a message and can start again; the next run that needs a process starts a new one.

Everything here runs in the app's server process and never imports torch.

    pool = Pool(Limits())
    client = pool.open(config)            # a RunClient: the page's handle on one run
    client.request(Command.TRAIN)         # send, and wait for the answer (unless it waits in line)
    client.poll()                         # apply what arrived to client.view
"""

from __future__ import annotations

import collections
import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import threads
from ..config import Config, Limits
from ..record import Change
from .launch import context
from .protocol import ORPHAN_S, Command, RunView, Update
from .worker import serve

CRASHED = (
    "The training process that held this run stopped (killed, or out of memory), so the run is lost. "
    "Your settings are kept: press Train to start again."
)
GONE = "This run was closed (its page was silent too long)."
FIRST_GUESS_S = 5.0  # a run's training time, until some runs have finished here
TRAINING_COMMANDS = (Command.TRAIN, Command.STEP, Command.INSPECT, Command.WRITTEN)  # these go through the line


def _kind(command: Command, args: tuple) -> tuple:
    """What a command sets: a later one of the same kind replaces it (a live setting: per setting)."""
    return (command, args[0]) if command == Command.SET else (command,)


class Process:
    """One training process, and a thread that starts it, then reads what it sends.

    Starting one waits for the fork server to have imported torch: seconds, in the first
    seconds after the server starts. That wait is the thread's, not the caller's: a page's Train
    callback, which brings its run into a process under the pool's lock, returns at once, so that
    page draws its run as started and every other page goes on while the process starts. What is
    sent meanwhile waits in the pipe, and the process reads it first.
    """

    START_S = 60.0  # the longest stop() waits for a start in progress (the fork server's import)

    def __init__(self, pool: Pool, orphan_s: float):
        ctx = context()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child, orphan_s), daemon=True)
        self.pool = pool
        self.send_lock = threading.Lock()
        self.alive = True
        self.started = threading.Event()  # set when the start is over, whether it worked or not
        threading.Thread(target=self._start_and_read, args=(child,), daemon=True, name="pool-reader").start()

    def send(self, message: tuple) -> bool:
        with self.send_lock:
            try:
                self.conn.send(message)
                return True
            except (BrokenPipeError, OSError):
                return False

    def _start_and_read(self, child) -> None:
        try:
            self.process.start()
        except (OSError, EOFError, RuntimeError, ValueError):  # none started: its runs fail, saying so
            pass
        finally:
            child.close()
            self.started.set()
        if self.process.pid is not None:
            self._read()
        self.alive = False
        self.pool._lost(self)

    def _read(self) -> None:
        while True:
            try:
                run_id, update = self.conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: the pool closed the connection
                return
            self.pool._deliver(run_id, update)

    def stop(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        self.started.wait(self.START_S)
        if self.process.pid is None:  # never started (or still starting, past START_S)
            return
        self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()


@dataclass
class Run:
    """The server's record of one run."""

    id: int
    config: Config
    changes: list[Change]
    mb: float  # estimated memory while resident
    inbox: collections.deque = field(default_factory=collections.deque)  # updates for the page
    arrived: threading.Event = field(default_factory=threading.Event)
    # Set by an update that says the run does not train (it finished, paused or failed): a page
    # following it stops waiting for its next redraw (RunClient.nap).
    stopped: threading.Event = field(default_factory=threading.Event)
    process: Process | None = None  # where it is resident
    opened: bool = False  # whether a process has built it (else the next residency builds it)
    path: str | None = None  # where it is parked
    parked_in: Process | None = None  # the process writing it there, until it says it has
    training: bool = False  # training, or about to: resident, and counted against max_concurrent_runs
    train_number: int = 0  # the number of the Train command that gave it its place
    pending: list[tuple] = field(default_factory=list)  # commands for when it is resident again
    last_seen: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    started: float = 0.0  # when it last began training (time.monotonic)
    ended: bool = False  # lost, closed or diverged: nothing more will happen to it


@dataclass
class Place:
    """A run's place in the line: ``position`` of ``length``, about ``wait_s`` seconds to go."""

    position: int
    length: int
    wait_s: float


class Line:
    """The training commands waiting for a place to train, first come, first served."""

    def __init__(self):
        self.jobs: list[tuple[int, int, Command, tuple]] = []  # (run id, number, command, args)

    def __len__(self) -> int:
        return len(self.jobs)

    def position(self, run: Run) -> int | None:
        """``run``'s place from the front (0), or None when it does not wait."""
        return next((i for i, job in enumerate(self.jobs) if job[0] == run.id), None)

    def join(self, run: Run, number: int, command: Command, args: tuple) -> None:
        """Wait at the end; a run already waiting keeps its place, with its newer command."""
        job, place = (run.id, number, command, args), self.position(run)
        if place is None:
            self.jobs.append(job)
        else:
            self.jobs[place] = job

    def leave(self, run: Run) -> bool:
        """Leave the line; False when ``run`` was not in it."""
        place = self.position(run)
        if place is not None:
            del self.jobs[place]
        return place is not None

    def first(self) -> tuple[int, int, Command, tuple]:
        return self.jobs[0]

    def pop_first(self) -> None:
        del self.jobs[0]

    def clear(self) -> None:
        self.jobs.clear()


class Pool:
    def __init__(self, limits: Limits, orphan_s: float = ORPHAN_S):
        self.limits = limits
        self.orphan_s = orphan_s
        self.lock = threading.RLock()
        self.processes: list[Process] = []
        self.runs: dict[int, Run] = {}
        self.line = Line()
        self.ids = itertools.count(1)
        self.durations: collections.deque[float] = collections.deque(maxlen=50)  # seconds each run trained
        self.parked_dir = tempfile.mkdtemp(prefix="playground-runs-")
        threading.Thread(target=self._reap, daemon=True, name="pool-reaper").start()

    # ------------------------------------------------------------ the page's side

    def open(self, cfg: Config, changes: Sequence[Change] = ()) -> RunClient:
        """A new run, not yet in any process: its first command that trains brings it in.

        Its thread count is chosen here (a core for the server, the rest shared by the processes)
        and kept in its config, so that an export replays with the threads it trained on.
        """
        cfg = threads.resolved(cfg, max(1, (threads.cores() - 1) // self.limits.training_processes))
        with self.lock:
            run = Run(next(self.ids), cfg, list(changes), cfg.estimated_mb())
            self.runs[run.id] = run
        return RunClient(self, run, RunView(cfg))

    def submit(self, run: Run, number: int, command: Command, args: tuple) -> bool:
        """Carry out ``command``; True when a process will answer it, False when it waits (or was done here)."""
        with self.lock:
            now = time.monotonic()
            run.last_seen = now
            if run.ended:
                return False
            if command == Command.CLOSE:
                self._end(run)
                return False
            if command in TRAINING_COMMANDS:
                run.last_used = now
                if self.line.position(run) is not None:
                    self.line.join(run, number, command, args)  # keeps its place
                    return False
                if run.training and command == Command.TRAIN:
                    return self._send(run, number, command, args)
                if self.line or not self._room_for(run):
                    self.line.join(run, number, command, args)
                    return False
                return self._start(run, number, command, args)
            if command == Command.PAUSE and self.line.leave(run):
                return False
            if run.process is None:
                if command != Command.PING:  # (a ping only says the page is there: last_seen)
                    # While it is not resident the run takes no step: only the last of each setting matters.
                    kind = _kind(command, args)
                    run.pending = [p for p in run.pending if _kind(*p[1:]) != kind] + [(number, command, args)]
                return False
            return self._send(run, number, command, args)

    def place(self, run: Run) -> Place | None:
        """Where ``run`` waits in line, or None when it does not wait."""
        with self.lock:
            queued = self.line.position(run)
            if queued is None:
                return None
            typical = sorted(self.durations)[len(self.durations) // 2] if self.durations else FIRST_GUESS_S
            rounds = queued // self.at_once() + 1
            return Place(queued + 1, len(self.line), rounds * typical)

    def at_once(self) -> int:
        """How many runs train at once: the cap, or as many as train now (the memory's bound)."""
        with self.lock:
            return self.limits.max_concurrent_runs or max(1, self.training())

    def training(self) -> int:
        with self.lock:
            return sum(1 for run in self.runs.values() if run.training)

    def waiting(self) -> int:
        with self.lock:
            return len(self.line)

    def resident_mb(self) -> float:
        with self.lock:
            return sum(run.mb for run in self.runs.values() if run.process is not None)

    def close(self) -> None:
        """Stop every process and forget every run (tests, server shutdown)."""
        with self.lock:
            processes, self.processes = self.processes, []
            self.runs.clear()
            self.line.clear()
        for process in processes:
            process.alive = False
            process.stop()
        shutil.rmtree(self.parked_dir, ignore_errors=True)

    # ------------------------------------------------------------ places to train (under the lock)

    def _room_for(self, run: Run) -> bool:
        if run.training:
            return True
        cap = self.limits.max_concurrent_runs
        return (cap is None or self.training() < cap) and self._make_room(run)

    def _admit(self) -> None:
        """Start the runs at the head of the line while there are places for them."""
        while self.line:
            run_id, number, command, args = self.line.first()
            run = self.runs.get(run_id)
            waits = run is not None and not run.ended
            if waits and not self._room_for(run):
                return
            self.line.pop_first()
            if waits:
                self._start(run, number, command, args)

    def _start(self, run: Run, number: int, command: Command, args: tuple) -> bool:
        """Bring ``run`` into a process (if it is not there) and carry out a training command.

        What the page sent while the run was out of a process goes with it, in number order: a
        command sent while the run waited in line (its speed, on every rerun) comes after its
        Train, or the process's answer to it would read as the Train's end (``_deliver``).
        """
        if run.process is None:
            self._bring_in(run)
            if run.ended:
                return False
        if command == Command.TRAIN:
            run.training, run.train_number, run.started = True, number, time.monotonic()
        pending, run.pending = run.pending, []
        for earlier in [p for p in pending if p[0] < number]:
            self._send(run, *earlier)
        sent = self._send(run, number, command, args)
        for later in [p for p in pending if p[0] > number]:
            self._send(run, *later)
        return sent

    def _stopped_training(self, run: Run) -> None:
        run.training = False
        if run.started:
            self.durations.append(time.monotonic() - run.started)
            run.started = 0.0

    # ------------------------------------------------------------ memory: runs in and out of processes

    def _bring_in(self, run: Run) -> None:
        # A run still being parked comes back to the same process: its messages arrive in order.
        process = run.parked_in or self._least_busy()
        run.process, run.parked_in = process, None
        if not run.opened:
            self._send(run, 0, Command.OPEN, (run.config.to_dict(), [tuple(vars(c).values()) for c in run.changes]))
            run.opened = True
        else:
            self._send(run, 0, Command.RESTORE, (run.path,))
            run.path = None

    def _make_room(self, run: Run) -> bool:
        """Room in memory for ``run`` to be resident, parking idle runs (least recently used first)."""
        if run.process is not None:
            return True
        needed = self.resident_mb() + run.mb - self.limits.memory_mb
        idle = sorted(
            (r for r in self.runs.values() if r.process is not None and not r.training and r is not run),
            key=lambda r: r.last_used,
        )
        for other in idle:
            if needed <= 0:
                break
            self._park(other)
            needed -= other.mb
        # Alone, a run may use all the memory (and one run's size is capped by max_run_mb).
        return needed <= 0 or self.resident_mb() == 0

    def _park(self, run: Run) -> None:
        run.path = os.path.join(self.parked_dir, f"run-{run.id}.pickle")
        self._send(run, 0, Command.PARK, (run.path,))
        run.process, run.parked_in = None, run.process

    def _send(self, run: Run, number: int, command: Command, args: tuple) -> bool:
        return run.process is not None and run.process.send((run.id, number, command, *args))

    # ------------------------------------------------------------ ending a run

    def _end(self, run: Run, error: str = "") -> None:
        """End ``run`` for good, wherever it is: closed by its page, diverged, lost with its process,
        or silent too long. With ``error``, its page is told why."""
        self.line.leave(run)
        self._send(run, 0, Command.CLOSE, ())  # (not resident, or its process is gone: nothing to send)
        if run.path:
            try:
                os.unlink(run.path)
            except OSError:
                pass  # still being written, or never written: the directory goes with the pool
        if run.training:
            self._stopped_training(run)
        run.ended, run.process, run.parked_in = True, None, None
        self.runs.pop(run.id, None)
        if error:
            self._tell(run, Update(error=error))
        self._admit()

    def _tell(self, run: Run, update: Update) -> None:
        """Pass ``update`` to ``run``'s page."""
        run.inbox.append(update)
        run.arrived.set()
        if update.error or not update.running:
            run.stopped.set()

    # ------------------------------------------------------------ the processes

    def start(self) -> None:
        """Start the training processes now, so that the first Train finds one ready; return once
        they have started (after the fork server's torch import)."""
        with self.lock:
            self._enough_processes()
            processes = list(self.processes)
        for process in processes:
            process.started.wait(Process.START_S)

    def _enough_processes(self) -> None:
        while len(self.processes) < self.limits.training_processes:
            self.processes.append(Process(self, self.orphan_s * 2))  # the pool drops orphans first

    def _least_busy(self) -> Process:
        self._enough_processes()

        def load(process: Process) -> tuple:
            held = [r for r in self.runs.values() if r.process is process]
            return (sum(r.training for r in held), sum(r.mb for r in held))

        return min(self.processes, key=load)

    def _deliver(self, run_id: int, update: Update) -> None:
        """What a process says of a run (its reader thread)."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is None:
                return
            if update.parked:
                run.parked_in = None  # written: it may come back in any process
                return
            if update.error:
                self._end(run)  # it could not start; the update says why
            else:
                if run.training and not update.running and update.ack >= run.train_number:
                    self._stopped_training(run)
                if not run.training and run.process is not None and update.status.ended:
                    # A finished or diverged run holds no process: more steps, or a look inside
                    # one of its steps, bring it back (finished by Train, or by Step).
                    self._park(run)
            self._tell(run, update)
            self._admit()

    def _lost(self, process: Process) -> None:
        """A process stopped (its reader thread): the runs it held are lost."""
        with self.lock:
            if process not in self.processes:
                return  # closed on purpose
            # The next run that needs a process starts one (_least_busy). Not one now: when the
            # server stops, every process dies with it, and starting one then started a new fork
            # server, which imported torch beside the next server starting.
            self.processes.remove(process)
            for run in [r for r in self.runs.values() if process in (r.process, r.parked_in)]:
                self._end(run, CRASHED)
        process.stop()

    def _reap(self) -> None:
        """Drop runs whose pages have been silent for ``orphan_s`` seconds, every few seconds."""
        while True:
            time.sleep(min(5.0, self.orphan_s / 3))
            with self.lock:
                now = time.monotonic()
                for run in [r for r in self.runs.values() if now - r.last_seen > self.orphan_s]:
                    self._end(run, GONE)


class RunClient:
    """The page's handle on one run of the pool."""

    def __init__(self, pool: Pool, run: Run, view: RunView):
        self.pool, self.run, self.view = pool, run, view
        self.sent = 0  # commands are numbered; the updates say which the process has carried out
        self.settings = view.config  # the settings as last sent: the start, then live changes (the page's)

    @property
    def alive(self) -> bool:
        return not self.run.ended

    @property
    def waiting(self) -> Place | None:
        """Its place in the line, while it waits to train."""
        return self.pool.place(self.run)

    @property
    def active(self) -> bool:
        """Training, or waiting in line to: its page keeps following it.

        ``run.training`` is the pool's word, set when it sends Train: it also covers the moment
        between leaving the line and the process's first answer, when the view does not run yet.
        """
        return self.run.training or self.view.running or self.waiting is not None

    def send(self, command: Command, *args) -> bool:
        """Send a command; True when a process will answer it."""
        self.sent += 1
        return self.pool.submit(self.run, self.sent, command, args)

    def poll(self, wait: float = 0.0) -> bool:
        """Apply every update that has arrived (waiting up to ``wait`` s for the first)."""
        run = self.run
        if not run.inbox and wait > 0:
            run.arrived.wait(wait)
        run.arrived.clear()
        got = False
        while run.inbox:
            self.view.apply(run.inbox.popleft())
            got = True
        return got

    def nap(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking at once when an update says the run stopped training."""
        if seconds > 0 and self.run.stopped.wait(seconds):
            self.run.stopped.clear()

    @property
    def starting(self) -> bool:
        """In a process that has not started yet (it waits for the fork server's torch import)."""
        process = self.run.process
        return process is not None and not process.started.is_set()

    def request(self, command: Command, *args, timeout: float = 10.0, wait_for_start: bool = True) -> None:
        """Send a command and wait for the answer (the run's state after it), unless it waits in line,
        or, with ``wait_for_start`` False, its process is still starting: a training run's page
        follows it anyway (``active``), and draws its first steps when they come."""
        if not self.send(command, *args):
            self.poll()
            return
        deadline = time.monotonic() + timeout
        while self.view.state.ack < self.sent and time.monotonic() < deadline and not self.view.error:
            if not wait_for_start and self.starting:
                return
            self.poll(wait=0.05)

    def close(self) -> None:
        self.send(Command.CLOSE)
