"""A real server and a real browser, for the tests and the benchmarks alike.

    port = free_port()
    server, url = launch_streamlit(port, log)      # `streamlit run app.py`, once it answers
    with chromium() as browser:                    # Debian's Chromium, through Playwright
        page = browser.new_page()
        page.goto(url)
    stop(server)

Nothing here is used by the app: it starts the app the way a visitor's server runs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
#: Headless as root, and no calls to Google's hosts, which this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str:
    """Why Chromium cannot be driven here ("" when it can)."""
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    return "; ".join(missing)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, launched headless by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, log=subprocess.DEVNULL, env: dict[str, str] | None = None, script: str = "app.py"):
    """Start `streamlit run SCRIPT` on ``port`` in a process group of its own (``stop`` ends the group)."""
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90, interval: float = 0.25) -> bool:
    """Poll ``url``'s ``/_stcore/health`` every ``interval`` s until it answers ok (True), or
    until ``process`` exits or ``timeout`` s pass (False), as Streamlit's own e2e tests wait."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return True
        except OSError:  # not listening yet
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)


def launch_streamlit(port: int, log=subprocess.DEVNULL, env: dict[str, str] | None = None):
    """`streamlit run app.py` on ``port`` (``env``: extra variables, e.g. ``PLAYGROUND_*`` limits),
    once its health check answers: the process and its URL."""
    process = serve(port, log, env)
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url, process):
        stop(process)
        raise RuntimeError(f"streamlit did not become healthy (log: {getattr(log, 'name', log)})")
    return process, url


def stop(process: subprocess.Popen) -> None:
    """End a server started by ``serve`` and everything it started (its training processes)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
