"""How training processes start: from a fork server that has imported torch, where there is one.

Only the standard library here, so that ``app.py`` can start the fork server the moment Streamlit
imports it, while Streamlit is still starting its server, without importing NumPy first.
"""

from __future__ import annotations

import functools
import multiprocessing

#: One BLAS thread in the training processes (read once, when NumPy is first imported): two BLAS
#: threads spin beside the page and the browser, on the very cores they need.
ONE_BLAS_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


@functools.cache
def context():
    """The multiprocessing context: a fork server with torch preloaded where there is one."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["playground.server.warm"])
        return ctx
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the fork server now (it imports torch: seconds), so the first Train is quick."""
    if context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _report_devices(conn) -> None:
    from .. import devices

    try:
        conn.send((devices.available(), devices.why_no_cuda()))
    except OSError:  # nobody is waiting any more (the server stopped)
        pass


def probe_devices(timeout: float = 120.0) -> tuple[list[str], str]:
    """The devices this machine can train on, asked of a process of their own (the server never imports torch)."""
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
