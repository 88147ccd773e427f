"""The app's processes, sampled: PSS, CPU time and CPU waits of the server and its descendants (/proc)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the app's processes


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid; utime + stime


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _processes() -> dict[int, tuple[int, int]]:
    """(parent pid, CPU ticks) of every process, by pid."""
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (s := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = s
    return stats


def _tree(root: int, stats: dict[int, tuple[int, int]]) -> dict[int, int]:
    """CPU ticks of ``root`` and each of its descendants, by pid."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found[pid] = stats[pid][1]
            todo += children.get(pid, [])
    return found


@dataclass
class Sample:
    at: float
    pss_kb: int
    processes: int
    cpu: dict[int, int]  # the app's processes: CPU ticks by pid
    client_cpu: dict[int, int]  # this process's other descendants (Chromium): CPU ticks by pid
    own_cpu: int  # this process (the load generator): CPU ticks
    server_waits: dict[int, int]  # the server's threads: ns spent runnable, waiting for a CPU (schedstat)


class Sampler(threading.Thread):
    """PSS and CPU of the server and all its descendants, every ``every`` seconds."""

    def __init__(self, server_pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.server_pid, self.every = server_pid, every
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def sample(self) -> Sample:
        stats = _processes()
        app = _tree(self.server_pid, stats)
        ours = _tree(os.getpid(), stats)
        client = {pid: ticks for pid, ticks in ours.items() if pid not in app and pid != os.getpid()}
        pss = sum(_pss_kb(pid) for pid in app)
        return Sample(time.monotonic(), pss, len(app), app, client, ours.get(os.getpid(), 0), self._waits())

    def _waits(self) -> dict[int, int]:
        waits = {}
        try:
            for task in os.scandir(f"/proc/{self.server_pid}/task"):
                try:
                    waits[int(task.name)] = int(Path(task.path, "schedstat").read_text().split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        except OSError:
            pass
        return waits

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append(self.sample())
            self.halt.wait(self.every)

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def lifetimes(samples: list[Sample]) -> dict[int, tuple[float, float, float]]:
    """Each of the app's processes: when it was first and last seen, and the CPU seconds it used."""
    seen: dict[int, tuple[float, float, float]] = {}
    for s in samples:
        for pid, ticks in s.cpu.items():
            first = seen.get(pid, (s.at,))[0]
            seen[pid] = (first, s.at, ticks / TICK)
    return seen


def cpu_share(samples: list[Sample], pick, unit: float = TICK) -> float:
    """% of one core used between the first and last sample by the processes ``pick`` selects
    (``pick`` gives counters by pid or thread id, in 1/``unit`` s)."""
    if len(samples) < 2:
        return float("nan")
    start, used = pick(samples[0]), {}
    for s in samples:
        for pid, ticks in pick(s).items():
            used[pid] = ticks - start.get(pid, 0)
    return 100 * sum(used.values()) / unit / (samples[-1].at - samples[0].at)


def reap(pids: set[int], grace: float = 10.0) -> None:
    """Wait for the app's processes (the server's descendants) to exit; kill those left, by pid."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_stat(p) is not None for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if _stat(pid) is not None:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
