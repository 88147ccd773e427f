"""Training throughput while the page updates live, against the bare tutorial loop.

    python -m benchmarks.live_page [--style numpy] [--steps 3000] [--repeats 3]

Starts ``streamlit run app.py``, opens it in Debian's Chromium (same machine, as
a learner's laptop would), sets the run length, presses Train and records in
the page, with a MutationObserver, every change of the Step metric. From those:
steps per second as the page saw them, and page updates per second. The bare
loop (the tutorial's cell, ``benchmarks.bare_loops``) runs in this process,
in the same session, right before each page run, on as many threads as the app's runs get
(the pool's choice: one on 2 cores): the ratio is what to trust.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from datetime import date
from pathlib import Path

import torch

from benchmarks.bare_loops import BARE
from playground import threads
from playground.config import Config, Limits
from playground.testing import CHROMIUM, CHROMIUM_ARGS, free_port, launch_streamlit, stop

ROOT = Path(__file__).resolve().parent.parent

OBSERVER = """
() => {
  window.__steps = [];
  const read = () => {
    const boxes = [...document.querySelectorAll('[data-testid="stMetric"]')];
    const box = boxes.find(b => b.innerText.startsWith('Step\\n') || b.innerText.startsWith('Step '));
    if (!box) return;
    const v = parseInt(box.querySelector('[data-testid="stMetricValue"]').innerText.replace(/,/g, ''));
    const last = window.__steps.length ? window.__steps[window.__steps.length - 1][1] : null;
    if (v !== last) window.__steps.push([performance.now(), v]);
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def app_threads() -> int:
    """The threads the app's runs train on here (the pool's choice), so both sides use as many."""
    limits = Limits.from_env()
    return max(1, (threads.cores() - 1) // limits.training_processes)


def bare_ms_per_step(style: str, steps: int) -> float:
    lr = Config.for_style(style).lr
    BARE[style](steps=50, learning_rate=lr)
    start = time.perf_counter()
    BARE[style](steps=steps, learning_rate=lr)
    return (time.perf_counter() - start) / steps * 1e3


def start_server(port: int) -> subprocess.Popen:
    return launch_streamlit(port, subprocess.DEVNULL)[0]


def page_run(page, url: str, style: str, steps: int) -> dict:
    page.goto(f"{url}/?style={style}&steps={steps}")
    page.get_by_role("button", name="Train").wait_for()
    steps_box = page.get_by_label("Steps", exact=True)
    if steps_box.input_value() != str(steps):  # the URL did not set it: type it
        steps_box.fill(str(steps))
        steps_box.press("Enter")
        time.sleep(1.0)
    page.evaluate(OBSERVER)
    page.get_by_role("button", name="Train").click()
    page.locator('[data-testid="stAlert"]', has_text=f"Finished {steps} steps").wait_for(timeout=600_000)
    time.sleep(0.5)
    seen = page.evaluate("() => window.__steps")
    moving = [(t, v) for t, v in seen if v > 0]
    if len(moving) < 2:
        return {}  # too short to see the page move
    (t0, v0), (t1, v1) = moving[0], moving[-1]
    seconds = (t1 - t0) / 1e3
    return {
        "ms_per_step": seconds * 1e3 / (v1 - v0),
        "updates_per_s": (len(moving) - 1) / seconds,
        "seconds": seconds,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--style", default="numpy")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    threads.apply(app_threads(), args.style)  # the bare loop on the threads the app's run trains on

    port = free_port()
    rows = []
    server = None
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            started = time.monotonic()  # the browser is up: time the server and the page only
            server = start_server(port)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("button", name="Train").wait_for()
            interactive_s = time.monotonic() - started
            page_run(page, f"http://127.0.0.1:{port}", args.style, 300)  # warm the worker fork server
            for _ in range(args.repeats):
                bare = bare_ms_per_step(args.style, args.steps)
                live = page_run(page, f"http://127.0.0.1:{port}", args.style, args.steps)
                rows.append((bare, live))
                print(
                    f"bare {bare:.3f} ms/step; live {live['ms_per_step']:.3f} ms/step, "
                    f"{live['updates_per_s']:.1f} page updates/s",
                    flush=True,
                )
            browser.close()
    finally:
        if server is not None:
            stop(server)
    bare = statistics.median(r[0] for r in rows)
    live = statistics.median(r[1]["ms_per_step"] for r in rows)
    updates = statistics.median(r[1]["updates_per_s"] for r in rows)
    print(
        f"\nLive page vs bare loop: style {args.style}, {args.steps} steps, median of {args.repeats}; "
        f"{date.today()}, {platform.machine()}, {torch.get_num_threads()} threads, "
        "Chromium on the same machine\n"
    )
    print("| style | bare ms/step | live ms/step | throughput kept | page updates/s |")
    print("|---|---|---|---|---|")
    print(f"| {args.style} | {bare:.3f} | {live:.3f} | {bare / live:.0%} | {updates:.1f} |")
    print(f"\nFrom `streamlit run` to a page with a Train button: {interactive_s:.1f} s")


if __name__ == "__main__":
    main()
