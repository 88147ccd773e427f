"""How many threads a run trains on: chosen from the machine and the run, recorded, replayed.

Threads change the numbers, not only the speed: a float32 sum split over two threads
rounds differently from one. So the count is a setting (``threads``; 0 means "choose"),
the chosen count is written into the run's config before it starts, and a run file
replays with the threads it used.

What to choose: what the tutorial's own script gets from its library's defaults, up to
``MAX_THREADS``: OpenBLAS a thread per CPU, torch one per physical core (docs/performance.md,
``cli_vs_script``).
Where the app trains, the cores are shared: the pool gives each training process
(cores - 1) / processes, leaving the server and the browser a core, so on a small host its
runs train on one thread.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .config import NUMPY_STYLES, Config

MAX_THREADS = 8  # past this a 2-layer net of these sizes gains nothing


TOPOLOGY = Path("/sys/devices/system/cpu")


def cores(physical: bool = False, topology: Path = TOPOLOGY) -> int:
    """The CPUs this process may run on; with ``physical``, the cores they lie on: two hyperthreads
    of one core count once (Linux's ``topology``; where it cannot be read, each CPU is a core)."""
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    if not physical:
        return len(cpus)
    found = set()
    for cpu in cpus:
        try:
            where = topology / f"cpu{cpu}" / "topology"
            found.add(((where / "physical_package_id").read_text().strip(), (where / "core_id").read_text().strip()))
        except OSError:
            found.add(("cpu", str(cpu)))
    return len(found)


def choose(cfg: Config, available: int | None = None) -> int:
    """The threads ``cfg`` trains on: its own setting, else ``available`` (the pool's share of the
    cores), else what its library takes by default, 8 at most: NumPy's OpenBLAS a thread per CPU, torch a thread per
    physical core (MKL's count: on a CPU with two hyperthreads a core, torch's default is half the
    CPUs, and two threads on one core cost the tutorial's small steps a fixed time each)."""
    if cfg.threads:
        return cfg.threads
    if cfg.device != "cpu":
        return 1  # the GPU does the work; one thread feeds it
    return max(1, min(available or cores(physical=cfg.style not in NUMPY_STYLES), MAX_THREADS))


def resolved(cfg: Config, available: int | None = None) -> Config:
    """``cfg`` with its thread count chosen (what a run records)."""
    return cfg if cfg.threads else cfg.replace(threads=choose(cfg, available))


_applied: tuple[int, bool] | None = None


@functools.cache
def _blas():
    """NumPy's BLAS libraries (found once: finding them costs far more than setting them)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def blas_kernels() -> str:
    """The kernels NumPy's BLAS runs on this CPU, as threadpoolctl reports them ("OpenBLAS Haswell")."""
    found = []
    for library in _blas().lib_controllers:
        info = library.info()
        found.append(" ".join(str(part) for part in (info.get("internal_api", ""), info.get("architecture")) if part))
    return ", ".join(dict.fromkeys(f for f in found if f)).replace("openblas", "OpenBLAS")


def apply(threads: int, style: str) -> None:
    """Train ``style`` on ``threads`` threads from now on.

    The library the style trains with gets them: NumPy's BLAS for the NumPy style, torch's
    intra-op threads for the others. A torch style's statistics use NumPy's BLAS, which then
    gets one thread: a pool of threads spins for a while after each call it runs, on the very
    cores the run trains on. A NumPy run leaves torch alone (it never imports it).
    """
    global _applied
    numpy_style = style in NUMPY_STYLES
    if (threads, numpy_style) == _applied:
        return
    if not numpy_style:
        import torch

        torch.set_num_threads(threads)
    _blas().limit(limits=threads if numpy_style else 1)
    _applied = threads, numpy_style
