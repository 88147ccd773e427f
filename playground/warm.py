"""Imported once by the workers' fork server, before it forks any worker.

torch pays some costs on first use (the first ``torch.optim`` optimizer
imports about 2 s of modules). Paying them here, once, makes every worker
forked afterwards start training at once. One intra-op thread: no OpenMP
pool exists at fork time (an OpenMP pool does not survive a fork).
"""

import os

# One thread for NumPy's BLAS too (it reads this once, when NumPy is first imported, which is
# here): two BLAS threads spinning beside the page and the browser made the NumPy style 10x slower.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import torch  # noqa: E402

from .config import STYLES, Config  # noqa: E402
from .trainer import Trainer  # noqa: E402

torch.set_num_threads(1)
for _style in STYLES:
    Trainer(Config.for_style(_style, n=2, d_in=3, hidden=2, d_out=1, steps=2)).run()
