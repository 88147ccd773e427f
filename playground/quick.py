"""``python -m playground.quick FD``: the training process without torch (``launch.start_quick``).

It serves the pool on the connection at file descriptor FD, like any training process
(``worker.serve``), but imports only NumPy and the engine: ready in a fraction of a second,
where a process from the fork server waits seconds for torch. The pool sends it NumPy runs alone,
which draw their data without torch (``draws.py``).
"""

import signal
import sys
from multiprocessing.connection import Connection

# Ctrl+C stops the server, which closes the connection: then this process ends, without a traceback.
signal.signal(signal.SIGINT, signal.SIG_IGN)

from .worker import ORPHAN_S, serve  # noqa: E402  (NumPy: after the signal, a tenth of a second)

serve(Connection(int(sys.argv[1])), 2 * ORPHAN_S, quick=True)  # the pool drops orphans first (pool.Process)
