"""The server's pool of training processes: runs train in shared processes, wait in line beyond
the cap, park on disk and come back exactly, and a dead process costs only the runs it held."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

from playground.config import Config, Limits
from playground.record import Status
from playground.server.pool import CRASHED, GONE, Pool
from playground.server.protocol import Command
from playground.trainer import Trainer

pytestmark = pytest.mark.process

SMALL = {"n": 16, "d_in": 50, "hidden": 20, "d_out": 4}


def wait_until(client, condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.poll(wait=0.05)
        if condition(client.view):
            return
    raise AssertionError(f"timed out: {client.view.status} at step {client.view.state.steps_done}")


@pytest.fixture
def pools():
    made = []

    def make(orphan_s: float = 45.0, **limits) -> Pool:
        pool = Pool(Limits(**{"training_processes": 1, **limits}), orphan_s=orphan_s)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.close()


@pytest.fixture
def pool(pools) -> Pool:
    return pools()


def local_run(cfg: Config, steps: int | None = None) -> Trainer:
    """The same run in this process, on one thread like the training processes."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(cfg)
        trainer.run(steps)
        return trainer
    finally:
        torch.set_num_threads(threads)


def test_a_run_records_what_the_engine_records(pool):
    cfg = Config.for_style("module", steps=400, **SMALL)
    client = pool.open(cfg)
    client.request(Command.TRAIN)
    wait_until(client, lambda v: v.status == Status.DONE)
    local = local_run(cfg)
    view = client.view
    assert view.state.steps_done == 400
    np.testing.assert_array_equal(view.history["step"], local.history["step"])
    np.testing.assert_array_equal(view.history["loss"], local.history["loss"])
    assert len(view.histograms) == len(local.histograms)
    np.testing.assert_array_equal(view.histograms["hist.linear1.weight"], local.histograms["hist.linear1.weight"])


def test_runs_training_together_in_one_process_each_get_their_own_numbers(pool):
    configs = [
        Config.for_style(style, steps=600, seed=seed, **SMALL)
        for style, seed in (("numpy", 1), ("module", 2), ("optim", 3), ("dynamic", 4))
    ]
    clients = [pool.open(cfg) for cfg in configs]
    for client in clients:
        client.send(Command.TRAIN)
    assert len(pool.processes) == 1
    for client in clients:
        wait_until(client, lambda v: v.status == Status.DONE)
    for cfg, client in zip(configs, clients, strict=True):
        np.testing.assert_array_equal(client.view.history["loss"], local_run(cfg).history["loss"])


def test_runs_take_turns_so_every_curve_moves_at_once(pool):
    clients = [pool.open(Config.for_style("module", steps=1_000_000, seed=s, **SMALL)) for s in range(6)]
    for client in clients:
        client.request(Command.TRAIN)
    time.sleep(1.0)
    for client in clients:
        client.poll()
        assert client.view.state.steps_done > 20  # nobody waits for the others to finish
        client.request(Command.PAUSE)


def test_pause_takes_effect_within_half_a_second(pool):
    client = pool.open(Config.for_style("module", steps=1_000_000, **SMALL))
    client.request(Command.TRAIN)
    wait_until(client, lambda v: v.state.steps_done > 100)
    asked = time.monotonic()
    client.request(Command.PAUSE)
    answered = time.monotonic() - asked
    assert not client.view.running
    assert answered < 0.5
    paused_at = client.view.state.steps_done
    time.sleep(0.3)
    client.request(Command.PING)
    assert client.view.state.steps_done == paused_at  # nothing trains while paused


def test_learning_rate_applies_from_the_next_step(pool):
    client = pool.open(Config.for_style("module", steps=100, **SMALL))
    client.request(Command.STEP, 2)
    client.request(Command.SET, "lr", 0.5)
    client.request(Command.STEP, 1)
    assert client.view.state.learning_rate == 0.5
    assert client.view.state.steps_done == 3


def test_speed_cap_slows_a_run_down(pool):
    client = pool.open(Config.for_style("tensor", steps=1000, **SMALL))
    client.request(Command.SPEED, 20.0)
    client.request(Command.TRAIN)
    time.sleep(1.0)
    client.request(Command.PAUSE)
    assert 5 <= client.view.state.steps_done <= 40


def test_a_run_whose_page_is_gone_is_dropped(pools):
    pool = pools(orphan_s=3.0)
    client = pool.open(Config.for_style("module", steps=1_000_000, **SMALL))
    client.request(Command.TRAIN)
    wait_until(client, lambda v: bool(v.error), timeout=30)  # nobody pings it
    assert client.view.error == GONE
    assert pool.training() == 0 and not pool.runs
    assert all(p.process.is_alive() for p in pool.processes)  # the process stays for others


def test_an_unavailable_device_is_an_error_message_not_a_crash(pool):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the unavailable-device path cannot be shown here")
    client = pool.open(Config.for_style("tensor", device="cuda", **SMALL))
    client.request(Command.TRAIN)
    wait_until(client, lambda v: bool(v.error))
    assert "not available" in client.view.error
    assert client.view.status == Status.ERROR and pool.training() == 0


# ------------------------------------------------------------------ the line


def test_a_run_from_the_line_stays_training_whatever_its_page_sent_while_it_waited(pools):
    # While a run waits in line out of any process, its page goes on sending (its speed on every
    # rerun): commands numbered after its Train. They must reach the process after the Train, or
    # the process's answer to them reads as the end of the Train and the page stops following.
    pool = pools(max_concurrent_runs=1)
    other = pool.open(Config.for_style("module", steps=1_000_000, **SMALL))
    other.request(Command.TRAIN)
    client = pool.open(Config.for_style("tensor", steps=20_000, **SMALL))
    client.request(Command.TRAIN)
    assert client.waiting is not None
    for _ in range(3):
        client.send(Command.SPEED, None)
    other.request(Command.PAUSE)  # the line moves: the run starts
    deadline = time.monotonic() + 60
    while client.view.status != Status.DONE:
        assert time.monotonic() < deadline, "the run did not finish"
        client.poll(wait=0.01)
        assert client.active or client.view.status == Status.DONE, "the page would stop following a training run"


def test_beyond_the_cap_runs_wait_in_line_first_come_first_served(pools):
    pool = pools(max_concurrent_runs=2)
    clients = [pool.open(Config.for_style("module", steps=1_000_000, seed=s, **SMALL)) for s in range(5)]
    for client in clients:
        client.request(Command.TRAIN)
    assert pool.training() == 2
    assert [c.waiting.position if c.waiting else None for c in clients] == [None, None, 1, 2, 3]
    assert clients[4].waiting.length == 3 and clients[4].waiting.wait_s > 0
    assert all(c.active for c in clients)
    clients[3].request(Command.PAUSE)  # leaves the line
    assert clients[3].waiting is None and not clients[3].active and clients[4].waiting.position == 2
    clients[0].request(Command.PAUSE)  # a place frees: the head of the line starts by itself
    assert clients[2].waiting is None
    assert clients[2].active  # before its process has answered: its page must keep following it
    wait_until(clients[2], lambda v: v.running)
    assert pool.training() == 2 and clients[4].waiting.position == 1
    step_waits = pool.open(Config.for_style("tensor", **SMALL))
    step_waits.request(Command.STEP, 1)  # Step goes through the same line
    assert step_waits.waiting.position == 2 and step_waits.view.state.steps_done == 0


def test_a_burst_of_trains_never_has_more_training_than_allowed(pools):
    cap, visitors = 4, 16
    pool = pools(max_concurrent_runs=cap)
    clients = [pool.open(Config.for_style("module", steps=1_000_000, seed=s, **SMALL)) for s in range(visitors)]
    start = threading.Barrier(visitors)
    most = [0]

    def visitor(client) -> None:
        start.wait()  # all press Train in the same instant
        client.request(Command.TRAIN)

    threads = [threading.Thread(target=visitor, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        most[0] = max(most[0], pool.training())
        time.sleep(0.002)
    for thread in threads:
        thread.join()
    time.sleep(0.3)
    for client in clients:
        client.poll()
    assert max(most[0], pool.training()) == cap
    assert sum(c.view.running for c in clients) == cap  # as the processes say, not only the pool
    assert sorted(c.waiting.position for c in clients if c.waiting) == list(range(1, visitors - cap + 1))


# ------------------------------------------------------------------ parked runs


def test_a_paused_run_parked_on_disk_resumes_bit_for_bit(pools):
    # Room for one run in memory: starting a second parks the first.
    cfg = Config.for_style("dynamic", steps=300, **SMALL)
    pool = pools(memory_mb=cfg.estimated_mb() * 1.5)
    first = pool.open(cfg)
    first.request(Command.STEP, 120)
    assert first.run.process is not None
    other = pool.open(Config.for_style("optim", steps=50, **SMALL))
    other.request(Command.TRAIN)
    assert first.run.process is None and first.run.path  # parked to make room
    wait_until(other, lambda v: v.status == Status.DONE)
    first.request(Command.TRAIN)  # comes back, and goes on
    wait_until(first, lambda v: v.status == Status.DONE)
    local = local_run(cfg)
    np.testing.assert_array_equal(first.view.history["loss"], local.history["loss"])
    np.testing.assert_array_equal(first.view.history["depth"], local.history["depth"])
    ratio = "input_linear.weight.update_ratio"  # the statistics still see the weights they measure
    np.testing.assert_allclose(first.view.history[ratio], local.history[ratio], rtol=1e-12, equal_nan=True)
    for name in local.histograms.names():  # and the histograms count the gradients of their own step
        np.testing.assert_array_equal(first.view.histograms[name], local.histograms[name], err_msg=name)


def test_a_finished_run_holds_no_process_and_can_go_on(pool):
    cfg = Config.for_style("optim", steps=80, **SMALL)
    client = pool.open(cfg)
    client.request(Command.TRAIN)
    wait_until(client, lambda v: v.status == Status.DONE)
    deadline = time.monotonic() + 10
    while client.run.parked_in is not None or client.run.process is not None:
        assert time.monotonic() < deadline, "the finished run was not parked"
        time.sleep(0.05)
    assert pool.resident_mb() == 0 and os.path.exists(client.run.path)
    for _ in range(50):  # an open page pings its parked run, and says its speed on every rerun
        client.send(Command.PING)
        client.send(Command.SPEED, None)
    client.request(Command.SET, "steps", 150)
    assert [p[1] for p in client.run.pending] == [Command.SPEED, Command.SET]  # kept for its return
    client.request(Command.TRAIN)
    wait_until(client, lambda v: v.status == Status.DONE and v.state.steps_done == 150)
    np.testing.assert_array_equal(client.view.history["loss"], local_run_with(cfg, client.view.state.changes))


def local_run_with(cfg, changes) -> np.ndarray:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(cfg, changes)
        trainer.run()
        return trainer.history["loss"]
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------------ a process that dies


def test_a_killed_process_costs_only_its_runs_and_is_replaced_when_needed(pools):
    pool = pools(training_processes=2)
    cfg = Config.for_style("module", steps=1_000_000, **SMALL)
    a, b = pool.open(cfg), pool.open(cfg.replace(seed=1))
    a.request(Command.TRAIN)
    b.request(Command.TRAIN)
    assert a.run.process is not b.run.process  # one in each
    for client in (a, b):  # both processes started, and training
        wait_until(client, lambda v: v.state.steps_done > 0)
    victim = a.run.process.process
    os.kill(victim.pid, signal.SIGKILL)
    wait_until(a, lambda v: bool(v.error), timeout=10)
    assert a.view.error == CRASHED and a.view.status == Status.ERROR and not a.active
    before = b.view.state.steps_done
    wait_until(b, lambda v: v.state.steps_done > before + 50)  # nobody else notices
    # None started in its place yet: when the server stops, every process dies at once, and a
    # replacement would start a fork server that imports torch while the server goes away.
    assert pool.processes == [b.run.process]
    again = pool.open(cfg)  # the visitor starts again: a new process for it
    again.request(Command.STEP, 5)
    assert again.view.state.steps_done == 5 and pool.training() == 1
    assert len(pool.processes) == 2 and all(p.process.is_alive() for p in pool.processes)
    assert again.run.process is not b.run.process


@pytest.fixture
def slow_start(monkeypatch):
    """Processes that take ``seconds`` to start, as in the first seconds after a server starts (the
    fork server still importing torch); ``fail`` makes the start raise instead."""
    from playground.server.launch import context

    cls = context().Process
    real = cls.start
    how = {"seconds": 1.5, "fail": False}

    def start(self):
        time.sleep(how["seconds"])
        if how["fail"]:
            raise OSError("no process today")
        real(self)

    monkeypatch.setattr(cls, "start", start)
    return how


def test_a_train_does_not_wait_for_its_process_to_start(pools, slow_start):
    """A page's Train callback returns at once while its run's process starts, and no other page
    waits for that start (it does not hold the pool's lock); the run trains once it is up."""
    pool = pools()
    client = pool.open(Config(steps=20, **SMALL))
    began = time.monotonic()
    client.request(Command.TRAIN, wait_for_start=False)
    assert time.monotonic() - began < 0.5
    assert client.starting and client.active and client.waiting is None  # started, not in line
    began = time.monotonic()
    other = pool.open(Config(steps=20, seed=1, **SMALL))  # another page, meanwhile
    assert pool.training() == 1 and other.view.state.steps_done == 0
    assert time.monotonic() - began < 0.5
    wait_until(client, lambda view: view.status == Status.DONE)
    assert not client.starting
    np.testing.assert_array_equal(client.view.history["loss"], local_run(client.settings).history["loss"])
    # A request that waits for the answer (Step) waits for the start too.
    slow_start["seconds"] = 0.0
    other.request(Command.STEP, 3)
    assert other.view.state.steps_done == 3


def test_a_process_that_cannot_start_fails_its_runs_and_the_next_train_starts_another(pools, slow_start):
    pool = pools()
    slow_start.update(seconds=0.2, fail=True)
    client = pool.open(Config(steps=20, **SMALL))
    client.request(Command.TRAIN, wait_for_start=False)
    wait_until(client, lambda view: bool(view.error), timeout=10)
    assert client.view.error == CRASHED and not client.active and pool.processes == []
    slow_start["fail"] = False
    again = pool.open(Config(steps=20, **SMALL))
    again.request(Command.TRAIN)
    wait_until(again, lambda view: view.status == Status.DONE)
    assert len(pool.processes) == 1


def test_a_run_finished_by_step_is_parked_too(pool):
    client = pool.open(Config.for_style("tensor", steps=5, **SMALL))
    client.request(Command.STEP, 5)
    assert client.view.status == Status.DONE
    deadline = time.monotonic() + 10
    while client.run.process is not None or client.run.parked_in is not None:
        assert time.monotonic() < deadline, "the finished run still holds its process"
        time.sleep(0.05)
    assert pool.resident_mb() == 0


def test_processes_start_before_the_first_train_at_normal_priority(pools):
    """The server starts its training processes with the first page, so a first Train finds one
    ready. The fork server imports torch in a thread of the lowest priority (playground.warm);
    the processes it forks must not inherit that priority, which they could not give back."""
    pool = pools(training_processes=2)
    pool.start()
    assert len(pool.processes) == 2
    pool.start()  # again: no more
    assert len(pool.processes) == 2
    for process in pool.processes:
        if hasattr(os, "sched_getscheduler"):
            assert os.sched_getscheduler(process.process.pid) == os.SCHED_OTHER
    client = pool.open(Config(steps=20, **SMALL))
    client.request(Command.TRAIN)
    wait_until(client, lambda view: view.status == Status.DONE)
    assert len(pool.processes) == 2


def test_a_page_napping_between_redraws_wakes_when_its_run_stops(pools):
    # LiveView.follow sleeps between redraws with RunClient.nap: one wake-up per redraw while the
    # run trains, and one at once when it stops, so a finished run is shown finished at once.
    pool = pools()
    client = pool.open(Config.for_style("module", steps=1_000_000, **SMALL))
    client.request(Command.TRAIN)
    wait_until(client, lambda view: view.running and view.state.steps_done > 0)
    client.nap(5.0)  # a stale stop (the answers before Train said "not training") wakes it at once
    began = time.monotonic()
    client.nap(0.3)  # training: sleeps the whole nap
    assert time.monotonic() - began >= 0.25
    pause = threading.Timer(0.2, client.request, (Command.PAUSE,))
    pause.start()
    began = time.monotonic()
    client.nap(60.0)
    assert time.monotonic() - began < 10.0
    pause.join()  # its request may still be applying the answer it took from the inbox
    client.poll()
    assert not client.active and not client.view.running


def test_streamlit_serves_page_py_and_starts_the_fork_server_with_the_server():
    # `streamlit run app.py` must find the App (Streamlit's own discovery, as its CLI runs it), and
    # the App's start-up hook must start the fork server before any page asks for a run.
    import asyncio
    import importlib.util
    from multiprocessing import forkserver
    from pathlib import Path

    from streamlit.web.server.app_discovery import discover_asgi_app

    root = Path(__file__).resolve().parent.parent
    found = discover_asgi_app(root / "app.py")
    assert found.is_asgi_app and found.app_name == "app"
    spec = importlib.util.spec_from_file_location("app_under_test", root / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert Path(module.app.script_path).name == "page.py"

    async def start() -> None:
        async with module.lifespan(module.app):
            pass

    asyncio.run(start())
    assert module.PREPARED.wait(timeout=60)
    assert {"playground.ui.page", "streamlit.emojis"} <= set(sys.modules)  # the first page's imports
    module.STARTING.join(timeout=60)  # (its thread: the page's imports may be done long before)
    assert forkserver._forkserver._forkserver_pid is not None  # started (torch loads there, at idle priority)
