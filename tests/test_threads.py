"""Threads: chosen from the machine and the run, recorded in the run, replayed exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SMALL

from playground import threads
from playground.config import Config, ConfigError


def test_every_style_takes_every_core_it_may_use_as_the_tutorials_script_does():
    tutorial = {"n": 64, "d_in": 1000, "hidden": 100, "d_out": 10}
    large = {"n": 512, "d_in": 1000, "hidden": 2000, "d_out": 10}
    for style in ("numpy", "tensor", "autograd", "function", "nn", "optim", "module", "dynamic"):
        for sizes in (tutorial, large):
            assert threads.choose(Config.for_style(style, **sizes), available=4) == 4, style
            assert threads.choose(Config.for_style(style, **sizes), available=1) == 1, style  # the app, 2 cores
    assert threads.choose(Config.for_style("numpy", **large), available=64) == threads.MAX_THREADS


def test_torch_takes_a_thread_per_physical_core_as_its_default_does(tmp_path, monkeypatch):
    """On a CPU with two hyperthreads a core, torch's default (MKL's count) is a thread per core, and
    NumPy's OpenBLAS one per CPU: the command line chooses the same."""
    import os

    cpus = sorted(os.sched_getaffinity(0))
    for i, cpu in enumerate(cpus):  # each pair of CPUs on one core
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{i // 2}\n")
    assert threads.cores(physical=True, topology=tmp_path) == (len(cpus) + 1) // 2
    assert threads.cores() == len(cpus)
    monkeypatch.setattr(threads.cores, "__defaults__", (False, tmp_path))
    expected = min((len(cpus) + 1) // 2, threads.MAX_THREADS)
    assert threads.choose(Config.for_style("module")) == expected
    assert threads.choose(Config.for_style("numpy")) == min(len(cpus), threads.MAX_THREADS)


def test_a_setting_overrides_the_choice_and_is_checked():
    assert threads.choose(Config.for_style("module", threads=3), available=1) == 3
    assert threads.resolved(Config.for_style("numpy"), available=2).threads == 2
    with pytest.raises(ConfigError) as caught:
        Config.for_style("numpy", threads=-1)
    assert caught.value.field == "threads" and "0 to 256" in str(caught.value)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "playground", "train", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.process
@pytest.mark.parametrize("count", ["1", "2"])
def test_a_saved_run_records_its_threads_and_replays_exactly(tmp_path, count):
    sizes = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    path = tmp_path / "run.json"
    first = cli("--style", "module", "--steps", "60", "--threads", count, "--json", "--save", str(path), *sizes)
    assert first.returncode == 0, first.stderr
    record = json.loads(path.read_text())
    assert record["config"]["threads"] == int(count)
    replay = cli("--config", str(path), "--json")  # no --threads: the file says how many
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == first.stdout
    losses = [json.loads(line)["loss"] for line in first.stdout.splitlines()]
    assert losses == record["history"]["loss"]


@pytest.mark.process
def test_without_a_setting_the_cli_records_the_count_it_chose(tmp_path):
    path = tmp_path / "run.json"
    done = cli("--style", "numpy", "--steps", "5", "--save", str(path))
    assert done.returncode == 0, done.stderr
    saved = json.loads(path.read_text())
    assert saved["config"]["threads"] == threads.choose(Config.for_style("numpy"))
    # A saved run keeps its gradient statistics, as the app's export does (stats_every=20: step 0).
    assert saved["history"]["w1.grad_norm"][0] > 0


@pytest.mark.process
def test_an_unwritable_save_path_is_a_one_line_error(tmp_path):
    done = cli("--style", "numpy", "--steps", "5", "--save", str(tmp_path / "missing" / "run.json"))
    assert done.returncode == 2 and "save:" in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_run_trains_on_its_own_library_and_records_with_one_thread_of_the_other():
    # An idle pool spins on the cores the run trains on: NumPy's BLAS, which a torch style only
    # records its statistics with, gets one thread; a NumPy run leaves torch as it is.
    from threadpoolctl import threadpool_info

    def blas() -> int:
        return next(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    before = torch.get_num_threads(), blas()
    try:
        torch.set_num_threads(1)
        threads.apply(2, "numpy")
        assert (torch.get_num_threads(), blas()) == (1, 2)
        threads.apply(2, "module")
        assert (torch.get_num_threads(), blas()) == (2, 1)
    finally:  # as the other tests found them
        torch.set_num_threads(before[0])
        threads._blas().limit(limits=before[1])
        threads._applied = None
