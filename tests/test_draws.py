"""The NumPy style without torch (playground/draws.py): torch's numbers, bit for bit, and the same run."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from playground import draws
from playground.config import Config
from playground.problem import make_problem
from playground.styles import STYLES as STYLE_INFO
from playground.trainer import Trainer
from tests.conftest import ROOT, SMALL


def same_bits(ours: np.ndarray, theirs: np.ndarray) -> bool:
    return ours.dtype == theirs.dtype and ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes()


# Shapes on both sides of torch's block of 16 (which it draws in two ways), and draws that follow
# one another on one generator (a lone normal keeps the second of its pair for the next draw).
@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**34),  # seeds past 32 bits: torch keeps the low 32, and so must we
    shapes=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=4),
)
def test_normals_are_torchs_bit_for_bit(seed, shapes):
    ours, theirs = draws.Generator(seed), torch.Generator().manual_seed(seed)
    for shape in shapes:
        expected = torch.randn(*shape, generator=theirs, dtype=torch.float64).numpy()
        assert same_bits(ours.randn(*shape), expected), shape


SIZES = {
    "tutorial": {},
    "small": SMALL,
    "tiny": {"n": 1, "d_in": 1, "hidden": 2, "d_out": 1},  # every draw below torch's block of 16
    "odd": {"n": 7, "d_in": 13, "hidden": 9, "d_out": 3},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("data", ["random", "sin"])
@pytest.mark.parametrize("size", SIZES)
def test_the_numpy_problem_is_the_problem(size, data, dtype):
    sizes = SIZES[size] if data == "random" else {k: v for k, v in SIZES[size].items() if k in ("n", "hidden")}
    cfg = Config.for_style("numpy", data=data, dtype=dtype, seed=5, **sizes)  # (a curve: one input, one output)
    ours, theirs = draws.numpy_problem(cfg), make_problem(cfg)
    assert ours.ones_column == theirs.ones_column
    for name in ("x", "y", "w1", "w2"):
        mine, torchs = getattr(ours, name), getattr(theirs, name)
        assert same_bits(mine, torchs.numpy()), name
        assert same_bits(ours.array(mine), theirs.array(torchs)), name  # and in the run's dtype
    points = np.linspace(-1, 1, 5)
    assert same_bits(ours.inputs(points), theirs.inputs(points).numpy())


WITHOUT_TORCH = """
import pickle, sys
from playground.config import Config
from playground.styles import STYLES as STYLE_INFO
from playground.trainer import Trainer

trainer = Trainer(Config.from_dict(pickle.loads(sys.stdin.buffer.read())))
trainer.set_histogram_kinds(("weights", "updates", "activations"))
trainer.run()
fit = trainer.fit()
assert "torch" not in sys.modules, "torch was imported"
record = {name: trainer.history[name] for name in trainer.history.names()}
record.update({name: trainer.histograms[name] for name in trainer.histograms.names()})
pickle.dump((record, fit, trainer.message), sys.stdout.buffer)
"""


@pytest.mark.parametrize(("data", "dtype"), [("random", "float64"), ("sin", "float64"), ("sin", "float32")])
def test_a_numpy_run_without_torch_is_the_run_with_it(data, dtype):
    """The same run, in a process that never imports torch (its draws, np.bincount) and here (torch's
    draws, torch.bincount): every loss, statistic and histogram, and the fit, the same."""
    cfg = Config.for_style("numpy", data=data, dtype=dtype, steps=120, stats_every=3, hist_every=5, threads=1)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH],
        input=pickle.dumps(cfg.to_dict()),
        capture_output=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "PATH": ""},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    record, fit, message = pickle.loads(done.stdout)
    trainer = Trainer(cfg)
    trainer.set_histogram_kinds(("weights", "updates", "activations"))
    trainer.run()
    assert "torch" in sys.modules and message == trainer.message
    expected = {name: trainer.history[name] for name in trainer.history.names()}
    expected.update({name: trainer.histograms[name] for name in trainer.histograms.names()})
    assert record.keys() == expected.keys()
    for name, column in expected.items():
        np.testing.assert_array_equal(record[name], column, err_msg=name)
    if data == "sin":
        for key in ("x", "y", "kinks"):
            np.testing.assert_array_equal(fit[key], trainer.fit()[key], err_msg=key)


def test_the_same_settings_are_drawn_once_and_trained_on_copies():
    # A room on the same link, all in the quick process, draws once; a run never writes on the draws.
    cfg = Config.for_style("numpy", **SMALL)
    first, again = draws.numpy_problem(cfg), draws.numpy_problem(cfg)
    assert first.x is again.x and first.w1 is again.w1
    assert not any(a.flags.writeable for a in (first.x, first.y, first.w1, first.w2))
    net = STYLE_INFO["numpy"].load()(first, cfg)
    net.step()  # updates its own copies (a write on the draws would raise)
    assert not np.array_equal(net.weights["w1"], first.w1)
