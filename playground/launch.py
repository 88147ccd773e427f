"""How training processes start: from a fork server that has imported torch, where there is one.

Only the standard library here, so that ``app.py`` can start the fork server the moment Streamlit
imports it, while Streamlit is still starting its server: importing ``playground.worker`` (NumPy)
first would hold the server's start up by a fifth of a second.

The fork server's torch import takes seconds, at the lowest priority, while the first page loads.
So ``app.py`` also starts one training process that never imports torch (``start_quick``): ready
in a fraction of a second, it trains the NumPy runs (the default style) pressed before any process
from the fork server has started (``pool.Pool``), and is stopped once one has.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

#: One BLAS thread in the training processes (read once, when NumPy is first imported): two BLAS
#: threads spinning beside the page and the browser made the NumPy style 10x slower.
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


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


_quick: tuple[subprocess.Popen, Connection] | None = None


def start_quick() -> None:
    """Start the training process without torch (``python -m playground.quick``), once, where
    training processes otherwise come from a fork server. ``take_quick`` hands it to the pool."""
    global _quick
    if _quick is not None or context().get_start_method() != "forkserver":
        return
    ours, theirs = socket.socketpair()
    root = str(Path(__file__).resolve().parent.parent)  # where ``playground`` is, wherever the server started
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    with theirs:
        process = subprocess.Popen(
            [sys.executable, "-m", "playground.quick", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env={**os.environ, **ONE_BLAS_THREAD, "PYTHONPATH": path},
        )
    _quick = process, Connection(ours.detach())


def take_quick() -> tuple[subprocess.Popen, Connection] | None:
    """The process ``start_quick`` started and the server's end of its line, once (then None)."""
    global _quick
    quick, _quick = _quick, None
    return quick
