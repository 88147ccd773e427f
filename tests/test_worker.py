"""The training worker process: isolation, pausing, orphans, several runs at once."""

from __future__ import annotations

import time

import numpy as np
import pytest

from playground.config import Config
from playground.trainer import Trainer
from playground.worker import RunClient

SMALL = {"n": 16, "d_in": 50, "hidden": 20, "d_out": 4}


def wait_until(client, condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.poll(wait=0.05)
        if condition(client.view):
            return
    raise AssertionError(f"timed out: {client.view.status} at step {client.view.state.steps_done}")


@pytest.fixture
def clients():
    started = []

    def start(cfg, **kwargs):
        client = RunClient.start(cfg, **kwargs)
        started.append(client)
        return client

    yield start
    for client in started:
        client.close()


def test_a_worker_run_records_what_the_engine_records(clients):
    cfg = Config.for_style("module", steps=400, **SMALL)
    client = clients(cfg)
    client.request("train")
    wait_until(client, lambda v: v.status == "done")
    local = Trainer(cfg)
    local.run()
    view = client.view
    assert view.state.steps_done == 400
    np.testing.assert_array_equal(view.history["step"], local.history["step"])
    np.testing.assert_allclose(view.history["loss"], local.history["loss"], rtol=1e-6)
    assert len(view.histograms) == len(local.histograms)
    np.testing.assert_array_equal(view.histograms["hist.linear1.weight"], local.histograms["hist.linear1.weight"])


def test_four_runs_at_once_each_get_their_own_numbers(clients):
    configs = [
        Config.for_style(style, steps=600, seed=seed, **SMALL)
        for style, seed in (("numpy", 1), ("module", 2), ("optim", 3), ("dynamic", 4))
    ]
    running = [clients(cfg) for cfg in configs]
    for client in running:
        client.send("train")
    for client in running:
        wait_until(client, lambda v: v.status == "done")
    for cfg, client in zip(configs, running, strict=True):
        local = Trainer(cfg)
        local.run()
        assert client.view.state.last["loss"] == pytest.approx(local.last["loss"], rel=1e-5)


def test_pause_takes_effect_within_half_a_second(clients):
    client = clients(Config.for_style("module", steps=1_000_000, **SMALL))
    client.request("train")
    wait_until(client, lambda v: v.state.steps_done > 100)
    asked = time.monotonic()
    client.request("pause")
    answered = time.monotonic() - asked
    assert not client.view.running
    assert answered < 0.5
    paused_at = client.view.state.steps_done
    time.sleep(0.3)
    client.request("ping")
    assert client.view.state.steps_done == paused_at  # nothing trains while paused


def test_learning_rate_applies_from_the_next_step(clients):
    client = clients(Config.for_style("module", steps=100, **SMALL))
    client.request("step", 2)
    client.request("lr", 0.5)
    client.request("step", 1)
    assert client.view.state.learning_rate == 0.5
    assert client.view.state.steps_done == 3


def test_speed_cap_slows_a_run_down(clients):
    client = clients(Config.for_style("tensor", steps=1000, **SMALL))
    client.request("speed", 20.0)
    client.request("train")
    time.sleep(1.0)
    client.request("pause")
    assert 5 <= client.view.state.steps_done <= 40


def test_a_worker_whose_page_is_gone_stops(clients):
    client = clients(Config.for_style("module", steps=1_000_000, **SMALL), orphan_s=3.0)
    client.request("train")
    client.process.join(timeout=30)  # nobody pings it: it must stop on its own
    assert not client.process.is_alive()


def test_an_unavailable_device_is_an_error_message_not_a_crash(clients):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the unavailable-device path cannot be shown here")
    client = clients(Config.for_style("tensor", device="cuda", **SMALL))
    wait_until(client, lambda v: bool(v.error))
    assert "not available" in client.view.error
    assert client.view.status == "error"
