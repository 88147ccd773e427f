"""Shared helpers for the engine tests.

The engine is not installed as a package; the repository root goes on sys.path
so that both ``pytest`` and ``python -m pytest`` find ``playground``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playground.config import Config  # noqa: E402
from playground.trainer import Trainer  # noqa: E402

#: Sizes small enough that a run of a few hundred steps takes well under a second.
SMALL = {"n": 8, "d_in": 20, "hidden": 12, "d_out": 3}


def to_numpy(value) -> np.ndarray:
    """A NumPy copy of a tensor or an array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    return np.array(value, copy=True)


def run_losses(cfg: Config) -> tuple[np.ndarray, Trainer]:
    """Train ``cfg`` to the end; return the loss of every step and the trainer."""
    trainer = Trainer(cfg)
    losses = []
    while (row := trainer.step()) is not None:
        losses.append(row["loss"])
    return np.array(losses), trainer


@pytest.fixture(scope="module")
def one_torch_thread():
    """Train on one torch thread in the engine tests (``pytestmark`` in their modules).

    On a small shared machine (2 cores here) two OpenMP threads that spin-wait for each
    other make a run 2 to 10 times slower whenever a neighbour takes a core. The results
    do not depend on it: the tolerances in these tests hold with 1 or 2 threads.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
