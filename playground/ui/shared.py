"""What every session of the app shares: the server's limits, the devices, and the training slots.

``shared()`` is one object per server (a cache resource). A run may train only while it holds
a slot, and ``reserve`` hands slots out under a lock: sixteen visitors pressing Train in the
same second get exactly ``max_concurrent_runs`` slots, never more (a slot is taken before the
worker starts, not when the worker first says it is training).
"""

from __future__ import annotations

import threading
import time

import streamlit as st

from ..config import ConfigError, Limits
from ..worker import RunClient, probe_devices, warm_up

UNBOUND_S = 10.0  # a slot reserved for a run that never started is given back after this


class Slot:
    """One run's right to train. Held from ``reserve`` until its run stops training."""

    def __init__(self):
        self.client: RunClient | None = None
        self.since = time.monotonic()

    def bind(self, client: RunClient) -> None:
        self.client = client

    def held(self) -> bool:
        c = self.client
        if c is None:
            return time.monotonic() - self.since < UNBOUND_S
        if not c.alive or c.view.error or c.view.status.ended:
            return False
        # Until the worker has answered the last Train, the run counts as training.
        return c.view.running or c.view.state.ack < c.train_sent


class Shared:
    def __init__(self, limits: Limits, problem: str = ""):
        self.limits = limits
        self.problem = problem  # a bad server setting, said on every page
        self.lock = threading.Lock()
        self.slots: list[Slot] = []
        self.devices: tuple[list[str], str] = (["cpu"], "Looking for GPUs…")
        self.devices_known = threading.Event()
        threading.Thread(target=self._prepare, daemon=True).start()

    def _prepare(self) -> None:
        """Start the workers' fork server (it imports torch: seconds) and ask it which devices exist."""
        warm_up()
        self.devices = probe_devices()
        self.devices_known.set()

    def reserve(self) -> Slot | None:
        """A training slot, or None when ``max_concurrent_runs`` runs hold one already."""
        with self.lock:
            self.slots = [slot for slot in self.slots if slot.held()]
            if len(self.slots) >= self.limits.max_concurrent_runs:
                return None
            slot = Slot()
            self.slots.append(slot)
            return slot

    def training(self) -> int:
        with self.lock:
            return sum(1 for slot in self.slots if slot.held())

    def busy_message(self) -> str:
        cap = self.limits.max_concurrent_runs
        return (
            f"The server is busy: {cap} runs are training right now, the most it allows at once. "
            "Please wait a moment and try again; your settings are kept."
        )


@st.cache_resource
def shared() -> Shared:
    try:
        return Shared(Limits.from_env())
    except ConfigError as error:  # a deployment's bad setting: say so on every page, keep the defaults
        return Shared(Limits(), f"Server setting {error}; using the default limits.")
