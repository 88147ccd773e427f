"""How many threads a run trains on: chosen from the machine and the run, recorded, replayed.

Threads change the numbers, not only the speed: a float32 sum split over two threads
rounds differently from one. So the count is a setting (``threads``; 0 means "choose"),
the chosen count is written into the run's config before it starts, and a run file
replays with the threads it used.

What to choose, measured on 2 cores: NumPy's matrix products (OpenBLAS) gain from every
core even at the tutorial's sizes (0.72 against 1.02 ms/step), while torch at those sizes
is faster on one thread (0.92 against 1.20 ms/step: its OpenMP threads cost more than they
save on 64x1000x100 products) and gains from more only when a step's products are large.
"""

from __future__ import annotations

import os

from .config import Config

MAX_THREADS = 8  # past this a 2-layer net of these sizes gains nothing
LARGE = 5e7  # multiply-adds in a forward pass from which torch gains from several threads


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def work(cfg: Config) -> float:
    """Multiply-adds of one forward pass (DynamicNet at its deepest)."""
    middle = cfg.max_depth * cfg.n * cfg.hidden * cfg.hidden if cfg.style == "dynamic" else 0
    return cfg.n * cfg.d_in * cfg.hidden + middle + cfg.n * cfg.hidden * cfg.d_out


def choose(cfg: Config, available: int | None = None) -> int:
    """The threads ``cfg`` trains on: its own setting, else chosen from ``available`` cores and the run."""
    if cfg.threads:
        return cfg.threads
    available = max(1, min(available or cores(), MAX_THREADS))
    if cfg.device != "cpu":
        return 1  # the GPU does the work; one thread feeds it
    if cfg.style == "numpy" or work(cfg) >= LARGE:
        return available
    return 1


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
