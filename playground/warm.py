"""Imported once by the workers' fork server, before it forks any worker.

torch pays some costs on first use (the first ``torch.optim`` optimizer
imports about 2 s of modules). Paying them here, once, makes every worker
forked afterwards start training at once. One intra-op thread: no OpenMP
pool exists at fork time (an OpenMP pool does not survive a fork).
"""

import torch

from .config import STYLES, Config
from .trainer import Trainer

torch.set_num_threads(1)
for _style in STYLES:
    Trainer(Config.for_style(_style, n=2, d_in=3, hidden=2, d_out=1, steps=2)).run()
