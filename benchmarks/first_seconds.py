"""The first seconds: start-up against a two-line Streamlit page, and the first Train.

    python -m benchmarks.first_seconds [--repeats 3]

Each round, in one process and alternating, so that both see the same machine:

1. ``streamlit run`` of a two-line page (``st.button("Train")``): the time from starting the
   server to a visible Train button in Debian's Chromium (already running, as a learner's
   browser is). This is the floor: Streamlit alone.
2. ``streamlit run app.py``, timed the same way; then Train is pressed the moment it shows,
   with the default settings, and a MutationObserver in the page records when the first step
   is shown (the Step metric above 0) and when the finished run is shown ("Finished 500 steps").

Every server is stopped with its whole process group (the training processes too) before the
next one starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from playground.config import Config
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port

ROOT = Path(__file__).resolve().parent.parent
TWO_LINES = 'import streamlit as st\n\nst.button("Train")\n'

WATCH = """
() => {
  window.__seen = {first: null, finished: null};
  const read = () => {
    const now = performance.now();
    if (window.__seen.first === null) {
      const box = [...document.querySelectorAll('[data-testid="stMetric"]')]
        .find(b => b.innerText.startsWith('Step'));
      const value = box && parseInt(box.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, ''));
      if (value > 0) window.__seen.first = now;
    }
    if (window.__seen.finished === null &&
        [...document.querySelectorAll('[data-testid="stAlert"]')].some(a => a.innerText.includes('Finished'))) {
      window.__seen.finished = now;
    }
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
  window.__clicked = performance.now();
}
"""


def serve(script: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)
    time.sleep(1.0)  # let the machine settle before the next server


def to_button(page, script: str) -> tuple[float, subprocess.Popen]:
    """Start ``script``'s server; seconds until its Train button is visible in ``page``.

    The page is opened as soon as the server's health check answers (polled every 20 ms, as a
    browser pointed at a server still starting would retry), then waits for the button.
    """
    port = _free_port()
    started = time.monotonic()
    server = serve(script, port)
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    break
        except OSError:  # not listening yet
            pass
        if time.monotonic() - started > 60 or server.poll() is not None:
            raise RuntimeError(f"{script}: the server did not start")
        time.sleep(0.02)
    page.goto(f"http://127.0.0.1:{port}/")
    page.get_by_role("button", name="Train").wait_for(state="visible", timeout=60_000)
    return time.monotonic() - started, server


def first_train(page) -> tuple[float, float]:
    """Press Train now; seconds until the first step, and the finished run, are shown."""
    page.evaluate(WATCH)
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished").wait_for(timeout=120_000)
    seen = page.evaluate("() => [window.__seen.first, window.__seen.finished, window.__clicked]")
    first, finished, clicked = seen
    return (first - clicked) / 1e3, (finished - clicked) / 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    floor, app, first, finished = [], [], [], []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        two_lines = Path(folder) / "two_lines.py"
        two_lines.write_text(TWO_LINES)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for round_ in range(args.repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            seconds, server = to_button(page, str(two_lines))
            stop(server)
            floor.append(seconds)
            page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            seconds, server = to_button(page, "app.py")
            try:
                shown = first_train(page)
            finally:
                stop(server)
            page.close()
            app.append(seconds)
            first.append(shown[0])
            finished.append(shown[1])
            print(
                f"round {round_ + 1}: two-line page {floor[-1]:.2f} s, playground {app[-1]:.2f} s "
                f"({app[-1] / floor[-1]:.2f}x); first step {first[-1]:.2f} s, finished {finished[-1]:.2f} s",
                flush=True,
            )
        browser.close()
    median = statistics.median
    steps = Config().steps
    print(
        f"\nThe first seconds, median of {args.repeats}; {date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Chromium on the same machine\n"
    )
    print("| measure | median | range |")
    print("|---|---|---|")
    print(f"| two-line page: start to Train button | {median(floor):.2f} s | {min(floor):.2f}–{max(floor):.2f} s |")
    print(f"| playground: start to Train button | {median(app):.2f} s | {min(app):.2f}–{max(app):.2f} s |")
    ratios = [a / f for a, f in zip(app, floor, strict=True)]
    print(f"| playground / two-line page | {median(ratios):.2f}x | {min(ratios):.2f}–{max(ratios):.2f}x |")
    print(f"| Train pressed at once: first step shown | {median(first):.2f} s | {min(first):.2f}–{max(first):.2f} s |")
    print(
        f"| Train pressed at once: {steps} steps shown finished | {median(finished):.2f} s | "
        f"{min(finished):.2f}–{max(finished):.2f} s |"
    )


if __name__ == "__main__":
    main()
