"""What every session of the app shares: the server's limits, the devices, the pool of training
processes (``server/pool.py``: the runs, the line to train) and how many pages are live.

``shared()`` is one object per server (a cache resource).
"""

from __future__ import annotations

import threading

import streamlit as st

from ..config import ConfigError, Limits
from ..devices import known_without_torch
from ..server.launch import probe_devices, warm_up
from ..server.pool import Pool
from .visits import Visits


class Shared:
    def __init__(self, limits: Limits, problem: str = ""):
        self.limits = limits
        self.problem = problem  # a bad server setting, said on every page
        self.pool = Pool(limits)
        self.visits = Visits()  # which page shows which run (a reload finds its run)
        # Known at once for a CPU-only build of torch; otherwise a worker is asked (_prepare), and
        # a page drawn before it answers reruns itself when it does (page.devices_found).
        known = known_without_torch()
        self.devices: tuple[list[str], str] = known or (["cpu"], "Looking for GPUs…")
        self.devices_known = threading.Event()
        if known:
            self.devices_known.set()
        self.lock = threading.Lock()
        self.live_pages = 0  # pages redrawing a training run right now (see live.py)
        self.prepared = threading.Event()  # _prepare is done (the tests wait for it)
        threading.Thread(target=self._prepare, daemon=True).start()

    def _prepare(self) -> None:
        """Start the workers' fork server (it imports torch: seconds) and the training processes,
        then, unless known already, ask which devices exist."""
        try:
            warm_up()
            self.pool.start()
            if not self.devices_known.is_set():
                self.devices = probe_devices()
                self.devices_known.set()
        finally:
            self.prepared.set()

    def following(self, change: int) -> int:
        """Count a page that starts (+1) or stops (-1) redrawing a live run; return how many do."""
        with self.lock:
            self.live_pages += change
            return self.live_pages


@st.cache_resource
def shared() -> Shared:
    try:
        return Shared(Limits.from_env())
    except ConfigError as error:  # a deployment's bad setting: say so on every page, keep the defaults
        return Shared(Limits(), f"Server setting {error}; using the default limits.")
