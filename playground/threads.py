"""How many threads a run trains on: chosen from the machine and the run, recorded, replayed.

Threads change the numbers, not only the speed: a float32 sum split over two threads
rounds differently from one. So the count is a setting (``threads``; 0 means "choose"),
the chosen count is written into the run's config before it starts, and a run file
replays with the threads it used.

What to choose: every core the run may use (up to ``MAX_THREADS``), as the tutorial's own
script gets from torch's and OpenBLAS's defaults. On a quiet 2-core machine the tutorial's
tensor cell runs at 0.25 ms/step on two threads against 0.39 on one (``benchmarks.cli_vs_script``);
an earlier rule gave torch one thread below 5e7 multiply-adds a step, from a measurement
(0.92 against 1.20 ms/step) taken while other work held a core. Where the app trains, the
cores are shared: the pool gives each training process (cores - 1) / processes, leaving the
server and the browser a core, so on a small host its runs train on one thread.
"""

from __future__ import annotations

import os

from .config import Config

MAX_THREADS = 8  # past this a 2-layer net of these sizes gains nothing


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def choose(cfg: Config, available: int | None = None) -> int:
    """The threads ``cfg`` trains on: its own setting, else every one of ``available`` cores (8 at most)."""
    if cfg.threads:
        return cfg.threads
    if cfg.device != "cpu":
        return 1  # the GPU does the work; one thread feeds it
    return max(1, min(available or cores(), MAX_THREADS))


def resolved(cfg: Config, available: int | None = None) -> Config:
    """``cfg`` with its thread count chosen (what a run records)."""
    return cfg if cfg.threads else cfg.replace(threads=choose(cfg, available))


_applied: int | None = None


def apply(threads: int) -> None:
    """Train on ``threads`` threads from now on: torch's intra-op threads and NumPy's BLAS."""
    global _applied
    if threads == _applied:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")
    _applied = threads
