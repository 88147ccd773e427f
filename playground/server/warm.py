"""Imported once by the workers' fork server, before it forks any worker.

Importing torch takes seconds of CPU. Paying it here, once, makes every worker
forked afterwards start training at once. The fork server starts with the server (app.py),
so this import would compete with the browser loading and drawing the first page: it runs in a thread
of the lowest priority (Linux's SCHED_IDLE), which takes only what the page leaves idle.
The fork server's main thread, which forks the workers, keeps its normal priority (a
worker inherits its parent thread's, and could not raise its own again).

What torch loads on first use of an optimizer (``torch._dynamo``, as much again) is not
paid here, so that a worker is ready sooner: each worker pays it in a thread of its own
(``background()``) a few seconds after it starts, at a moment when none of its runs trains
(``worker.WARM_AFTER_S``). A run of an optimizer style that comes first pays it itself.

One intra-op thread: no OpenMP pool exists at fork time (an OpenMP pool does not survive
a fork).
"""

import os
import threading

from .launch import ONE_BLAS_THREAD

os.environ.update(ONE_BLAS_THREAD)  # (NumPy is first imported here, in the fork server)


def lowest_priority() -> None:
    """Run the calling thread only on CPU time nothing else wants, where the system allows it."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: this thread (Linux)
    except (AttributeError, OSError):
        pass


def _import_and_warm() -> None:
    lowest_priority()
    import torch

    from ..config import MANUAL_UPDATE_STYLES, Config
    from ..trainer import Trainer

    torch.set_num_threads(1)
    for style in MANUAL_UPDATE_STYLES:  # no optimizer: cheap to warm here (milliseconds each)
        Trainer(Config.for_style(style, n=2, d_in=3, hidden=2, d_out=1, steps=2)).run()


def _warm_optimizers() -> None:
    from ..config import Config
    from ..trainer import Trainer

    Trainer(Config.for_style("optim", n=2, d_in=3, hidden=2, d_out=1, steps=2)).run()


def background() -> threading.Thread:
    """In a worker: pay the optimizers' first-use cost in a thread, so no run waits for it."""
    thread = threading.Thread(target=_warm_optimizers, daemon=True, name="warm-optimizers")
    thread.start()
    return thread


_thread = threading.Thread(target=_import_and_warm, name="warm")
_thread.start()
_thread.join()  # no thread may outlive the import: the fork server forks next
