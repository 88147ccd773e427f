"""The starting numbers (playground/problem.py): NumPy's frozen generator, no torch for a NumPy
run, and run files made with torch's numbers (version 2) still replaying to what they hold."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SMALL

from playground.config import Config
from playground.problem import DATA, FREE, LINEAR, MIDDLE, make_problem
from playground.trainer import Trainer

V2_FILES = sorted((ROOT / "tests" / "data").glob("run-v2-*.json"))  # made by fc89c2b, before version 3


def test_every_number_comes_from_numpys_legacy_generator_stream_by_stream():
    cfg = Config.for_style("dynamic", dtype="float64", seed=7, **SMALL)
    problem = make_problem(cfg)

    def stream(k: int) -> np.random.RandomState:
        return np.random.RandomState([7, k])

    data = stream(DATA)
    np.testing.assert_array_equal(problem.x, data.standard_normal((8, 20)))
    np.testing.assert_array_equal(problem.y, data.standard_normal((8, 3)))
    free = stream(FREE)
    np.testing.assert_array_equal(problem.w1, free.standard_normal((20, 12)))
    np.testing.assert_array_equal(problem.w2, free.standard_normal((12, 3)))
    linear = stream(LINEAR)
    bound = 1 / 20**0.5
    np.testing.assert_array_equal(problem.linear1.weight, (linear.random_sample((12, 20)) * 2 - 1) * bound)
    np.testing.assert_array_equal(problem.linear1.bias, (linear.random_sample(12) * 2 - 1) * bound)
    middle = stream(MIDDLE).random_sample((12, 12))
    np.testing.assert_array_equal(problem.middle.weight, (middle * 2 - 1) * (1 / 12**0.5))
    # NumPy keeps RandomState's streams frozen across releases: these are its numbers for [0, 0].
    first = make_problem(Config.for_style("numpy", seed=0)).x.ravel()[:3]
    assert first.tolist() == np.random.RandomState([0, 0]).standard_normal(3).tolist()
    assert first.round(6).tolist() == [-0.36259, -0.415975, 0.954865]


WITHOUT_TORCH = """
import pickle, sys
from playground.cli import main
from playground.config import Config
from playground.trainer import Trainer

assert main(["train", "--style", "numpy", "--steps", "20", "--n", "4", "--d-in", "5", "--hidden", "3"]) == 0
trainer = Trainer(Config.from_dict(pickle.loads(sys.stdin.buffer.read())))
trainer.set_histogram_kinds(("weights", "updates", "activations"))
trainer.run()
fit = trainer.fit()
assert "torch" not in sys.modules, "torch was imported"
history = {name: trainer.history[name] for name in trainer.history.names()}
histograms = {name: trainer.histograms[name] for name in trainer.histograms.names()}
pickle.dump((history, histograms, fit), sys.stdout.buffer)
"""


@pytest.mark.process
@pytest.mark.parametrize("data", ["random", "sin"])
def test_a_numpy_run_never_imports_torch_and_equals_the_same_run_beside_torch(data):
    sizes = SMALL if data == "random" else {"n": 16, "hidden": 12}
    cfg = Config.for_style("numpy", data=data, steps=60, stats_every=7, hist_every=9, **sizes)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH],
        input=pickle.dumps(cfg.to_dict()),
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    history, histograms, fit = pickle.loads(done.stdout[done.stdout.index(b"\x80") :])  # after the CLI's losses
    here = Trainer(cfg)
    here.set_histogram_kinds(("weights", "updates", "activations"))
    here.run()
    for theirs, ours in ((history, here.history), (histograms, here.histograms)):
        assert set(theirs) == set(ours.names())
        for name in ours.names():
            np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)
    if data == "sin":
        np.testing.assert_array_equal(fit["y"], here.fit()["y"])


def replay(path, *extra) -> tuple[list[dict], subprocess.CompletedProcess]:
    done = subprocess.run(
        [sys.executable, "-m", "playground", "train", "--config", str(path), "--json", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done


def test_the_version_2_files_are_there():
    assert [p.name for p in V2_FILES] == [
        "run-v2-autograd-sin.json",
        "run-v2-dynamic-random.json",
        "run-v2-module-random.json",
        "run-v2-numpy-random.json",
    ]


@pytest.mark.process
@pytest.mark.parametrize("path", V2_FILES, ids=lambda p: p.stem)
def test_a_file_made_before_version_3_replays_to_the_losses_it_holds(path, tmp_path):
    saved = json.loads(path.read_text())
    assert saved["version"] == 2 and saved["changes"]  # torch's numbers, and a live change mid-run
    again = tmp_path / "again.json"
    rows, done = replay(path, "--save", str(again))
    # These files say nothing of the CPU that made them: on another CPU a replay is within rounding.
    losses, held = np.array([row["loss"] for row in rows]), np.array(saved["history"]["loss"])
    verdict = done.stderr.strip().splitlines()[-1]
    if np.array_equal(losses, held):
        assert verdict == f"Replayed bit for bit: every one of the file's {len(held)} losses."
    else:
        assert verdict.startswith("Replayed within rounding: largest relative difference"), verdict
        assert "the file does not say which CPU made it" in verdict
        tolerance = 1e-3 if saved["config"]["dtype"] == "float32" else 1e-9
        np.testing.assert_allclose(losses, held, rtol=tolerance)
    assert [row["lr"] for row in rows] == saved["history"]["lr"]
    if "depth" in saved["history"]:
        assert [row["depth"] for row in rows] == saved["history"]["depth"]
    # Saved again, it stays a file of torch's numbers, and replays so.
    resaved = json.loads(again.read_text())
    assert resaved["version"] == 2 and resaved["history"]["loss"] == [row["loss"] for row in rows]
    # Made here, it says so, and replays here bit for bit.
    _, again_done = replay(again)
    assert again_done.stderr.strip().splitlines()[-1].startswith("Replayed bit for bit")


@pytest.mark.process
def test_the_same_settings_as_version_3_start_from_numpys_numbers(tmp_path):
    saved = json.loads((ROOT / "tests" / "data" / "run-v2-numpy-random.json").read_text())
    current = tmp_path / "v3.json"
    current.write_text(json.dumps({**saved, "version": 3}))
    rows, _ = replay(current)
    assert rows[0]["loss"] != saved["history"]["loss"][0]
    cfg = Config.from_dict(saved["config"])
    assert rows[0]["loss"] == Trainer(cfg).step()["loss"]
