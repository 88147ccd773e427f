"""The cap on runs training at once holds in a burst: sixteen visitors pressing Train in the same
instant get exactly ``max_concurrent_runs`` slots (the slot is taken under a lock before the
worker starts; it used to be counted only once the worker said it was training)."""

from __future__ import annotations

import threading
import time

from playground.config import Config, Limits
from playground.ui.shared import Shared
from playground.worker import Command, RunClient

SMALL = {"n": 16, "d_in": 50, "hidden": 20, "d_out": 4}
CAP, VISITORS = 4, 16


def test_a_burst_of_trains_never_has_more_training_than_allowed():
    shared = Shared(Limits(max_concurrent_runs=CAP))
    cfg = Config.for_style("module", steps=1_000_000, **SMALL)
    admitted: list[RunClient] = []
    refused: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(VISITORS)

    def visitor(i: int) -> None:
        start.wait()  # all press Train in the same instant
        slot = shared.reserve()
        if slot is None:
            with lock:
                refused.append(i)
            return
        client = RunClient.start(cfg)
        slot.bind(client)
        client.request(Command.TRAIN)
        with lock:
            admitted.append(client)

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(VISITORS)]
    try:
        for thread in threads:
            thread.start()
        most = 0
        while any(thread.is_alive() for thread in threads):
            with lock:
                running = sum(1 for c in admitted if c.view.running)
            most = max(most, running, shared.training())
            time.sleep(0.005)
        for thread in threads:
            thread.join()
        assert len(admitted) == CAP and len(refused) == VISITORS - CAP
        for client in admitted:
            client.poll(wait=0.2)
            assert client.view.running
        assert max(most, shared.training()) <= CAP
        assert shared.reserve() is None  # still full

        admitted[0].request(Command.PAUSE)  # a paused run gives its slot back...
        slot = shared.reserve()
        assert slot is not None
        assert shared.reserve() is None
        admitted[1].close()  # ...and so does a run whose process has gone
        admitted[1].process.join(timeout=5)
        assert shared.reserve() is not None
    finally:
        for client in admitted:
            client.close()


def test_a_slot_that_never_gets_a_run_is_given_back(monkeypatch):
    from playground.ui import shared as module

    shared = Shared(Limits(max_concurrent_runs=1))
    assert shared.reserve() is not None  # reserved, but the visitor's worker never started
    assert shared.reserve() is None
    monkeypatch.setattr(module, "UNBOUND_S", 0.0)
    assert shared.reserve() is not None
