"""The first seconds: start-up against a two-line Streamlit page, and the first Train.

    python -m benchmarks.first_seconds [--repeats 3]

Each round, in one process and alternating, so that both see the same machine:

1. ``streamlit run`` of a two-line page (``st.button("Train")``): the time from starting the
   server to its Train button in Debian's Chromium (already running, as a learner's browser
   is), painted (recorded in the page) and seen by Playwright (see ``to_button``). This is the
   floor: Streamlit alone.
2. ``streamlit run app.py``, timed the same way; then Train is pressed the moment Playwright
   sees it, with the default settings, and a MutationObserver in the page records when the
   first step is shown (the Step metric above 0) and when the finished run is shown ("Finished
   500 steps").

Every server is stopped with its whole process group (the training processes too) before the
next one starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

from playground import testing
from playground.config import Config
from playground.testing import CHROMIUM, CHROMIUM_ARGS, free_port, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
TWO_LINES = 'import streamlit as st\n\nst.button("Train")\n'

#: When the Train button is first painted: the frame after it is in the page with a size
#: (``requestAnimationFrame`` runs just before the browser paints that frame), as epoch ms.
PAINTED = """
window.__painted = null;
new MutationObserver((_, observer) => {
  const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim().startsWith('Train'));
  if (button && button.getBoundingClientRect().width > 0) {
    observer.disconnect();
    requestAnimationFrame(() => { window.__painted = performance.timeOrigin + performance.now(); });
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""

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
    return testing.serve(port, script=script)


def stop(server: subprocess.Popen) -> None:
    testing.stop(server)
    time.sleep(1.0)  # let the machine settle before the next server


def to_button(page, script: str) -> tuple[float, float, subprocess.Popen, float]:
    """Start ``script``'s server; seconds until its Train button is painted in ``page``, and
    until Playwright sees it; the server, and when (epoch s) it was started.

    The page is opened as soon as the server's health check answers (polled every 20 ms, as a
    browser pointed at a server still starting would retry), then waits for the button.
    Playwright polls the page from its own task, which waits behind whatever the page's main
    thread is doing (parsing the JavaScript of the widgets still to come): it can see the button
    a second after it was painted. The paint is what a visitor sees.
    """
    port = free_port()
    page.add_init_script(PAINTED)
    wall = time.time()
    started = time.monotonic()
    server = serve(script, port)
    try:
        if not wait_healthy(f"http://127.0.0.1:{port}", server, timeout=60, interval=0.02):
            raise RuntimeError(f"{script}: the server did not start")
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("button", name="Train").wait_for(state="visible", timeout=60_000)
        seen = time.monotonic() - started
        painted = page.wait_for_function("() => window.__painted").json_value()
    except BaseException:  # no server left behind for the next round
        stop(server)
        raise
    return painted / 1e3 - wall, seen, server, wall


def first_train(page) -> tuple[float, float, float]:
    """Press Train now; seconds until the first step, and the finished run, are shown, and the
    epoch time (s) the first step was shown."""
    page.evaluate(WATCH)
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text="Finished").wait_for(timeout=120_000)
    seen = page.evaluate(
        "() => [window.__seen.first, window.__seen.finished, window.__clicked, performance.timeOrigin]"
    )
    first, finished, clicked, origin = seen
    if first is None:  # the Step metric was redrawn with the finish itself
        first = finished
    return (first - clicked) / 1e3, (finished - clicked) / 1e3, (origin + first) / 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    floor, app, floor_seen, app_seen, first, finished, absolute = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        two_lines = Path(folder) / "two_lines.py"
        two_lines.write_text(TWO_LINES)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for round_ in range(args.repeats):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            painted, seen, server, _ = to_button(page, str(two_lines))
            stop(server)
            floor.append(painted)
            floor_seen.append(seen)
            page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            painted, seen, server, wall = to_button(page, "app.py")
            try:
                shown = first_train(page)
            finally:
                stop(server)
            page.close()
            app.append(painted)
            app_seen.append(seen)
            first.append(shown[0])
            finished.append(shown[1])
            absolute.append(shown[2] - wall)
            print(
                f"round {round_ + 1}: two-line page {floor[-1]:.2f} s, playground {app[-1]:.2f} s "
                f"({app[-1] / floor[-1]:.2f}x; seen by Playwright {floor_seen[-1]:.2f} and {app_seen[-1]:.2f} s); "
                f"first step {first[-1]:.2f} s, finished {finished[-1]:.2f} s",
                flush=True,
            )
        browser.close()
    steps = Config().steps
    print(
        f"\nThe first seconds, median of {args.repeats}; {date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Chromium on the same machine\n"
    )
    print("| measure | median | range |")
    print("|---|---|---|")
    row("two-line page: start to Train button painted", floor, "s")
    row("playground: start to Train button painted", app, "s")
    row("playground / two-line page, painted", [a / f for a, f in zip(app, floor, strict=True)], "x")
    row("two-line page: start to Train button seen by Playwright", floor_seen, "s")
    row("playground: start to Train button seen by Playwright", app_seen, "s")
    row(
        "playground / two-line page, seen by Playwright",
        [a / f for a, f in zip(app_seen, floor_seen, strict=True)],
        "x",
    )
    row("Train pressed at once: first step shown", first, "s")
    row(f"Train pressed at once: {steps} steps shown finished", finished, "s")
    row("Train pressed at once: start to first step shown", absolute, "s")


def row(measure: str, values: list[float], unit: str) -> None:
    space = " " if unit == "s" else ""
    low, high = min(values), max(values)
    print(f"| {measure} | {statistics.median(values):.2f}{space}{unit} | {low:.2f}–{high:.2f}{space}{unit} |")


if __name__ == "__main__":
    main()
