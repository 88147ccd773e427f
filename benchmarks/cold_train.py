"""A NumPy run before torch is in: the first Train on a server still warming up, and the command line.

    python -m benchmarks.cold_train [--repeats 3] [--press-at 2.5] [--busy 6]

1. **The server.** What ``app.py`` starts when Streamlit imports it (the quick process, then the
   fork server, which imports torch at the lowest priority), then the pool as the first page
   makes it; Train pressed with the default settings (the NumPy style) ``--press-at`` seconds
   later (about when the Train button is painted here). Timed from the press to the first step
   trained and to the run finished, in the server's view (no browser: what Chromium adds is
   ``first_seconds``' part). With the quick process, and without it (every run waits for torch),
   alternating; on an idle machine, and with every core busy for the first ``--busy`` seconds
   (a stand-in for Chromium, which takes 6 s of CPU in a page's first 9 s here, at normal
   priority: the torch import gets only what it leaves).
2. **The command line.** ``python -m playground train`` (the NumPy style, 500 steps), the whole
   process timed as a user waits for it: as it runs (no torch), with torch imported first (as
   before the NumPy style could draw without it), and the tutorial's NumPy cell run as a script.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.bare_loops import numpy_loop

ROOT = Path(__file__).resolve().parent.parent

HOG = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end: pass"


def child(quick: bool, press_at: float) -> None:
    """One server's start and first Train (run in a fresh process: a fresh fork server)."""
    began = time.monotonic()
    from playground import launch

    if quick:
        launch.start_quick()
    launch.warm_up()
    import threading

    from playground.config import Config, Limits
    from playground.pool import Pool
    from playground.worker import Command

    pool = Pool(Limits(), quick=launch.take_quick())
    threading.Thread(target=pool.start, daemon=True).start()  # as the first page does (ui/shared.py)
    time.sleep(max(0.0, began + press_at - time.monotonic()))
    pressed = time.monotonic()
    client = pool.open(Config())
    client.request(Command.TRAIN, wait_for_start=False)
    in_quick = client.run.process is pool.quick
    first = None
    while not client.view.status.ended:
        client.poll(wait=0.02)
        if first is None and client.view.state.steps_done > 0:
            first = time.monotonic() - pressed
    finished = time.monotonic() - pressed
    print(json.dumps({"first": first if first is not None else finished, "finished": finished, "quick": in_quick}))
    pool.close()


def server_round(quick: bool, press_at: float, busy: float) -> dict:
    hogs = [subprocess.Popen([sys.executable, "-c", HOG, str(busy)]) for _ in range(os.cpu_count() or 1) if busy > 0]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.cold_train", "--child", "quick" if quick else "fork"]
            + ["--press-at", str(press_at)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return json.loads(done.stdout.strip().splitlines()[-1])


CLI_WITH_TORCH = (
    "import runpy, sys, torch\nsys.argv = ['playground', 'train']\nrunpy.run_module('playground', run_name='__main__')"
)
SCRIPT = f"import numpy as np\n\n{inspect.getsource(numpy_loop)}\nnumpy_loop()\n"


def wall(args: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, timeout=300, check=True)
    return time.perf_counter() - began


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--press-at", type=float, default=2.5, help="seconds after the start that Train is pressed")
    parser.add_argument(
        "--busy", type=float, default=6.0, help="seconds every core is busy in the busy rounds (0: none)"
    )
    parser.add_argument("--child", choices=["quick", "fork"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child == "quick", args.press_at)
        return

    results: dict[tuple[str, bool], list[dict]] = {}
    for round_ in range(args.repeats):
        for machine, busy in (("idle", 0.0), ("busy", args.busy))[: 2 if args.busy else 1]:
            for quick in (True, False) if round_ % 2 == 0 else (False, True):
                got = server_round(quick, args.press_at, busy)
                results.setdefault((machine, quick), []).append(got)
    cli: dict[str, list[float]] = {"script": [], "cli": [], "torch": []}
    for round_ in range(args.repeats):
        for name in ("script", "cli", "torch") if round_ % 2 == 0 else ("torch", "cli", "script"):
            command = {"script": ["-c", SCRIPT], "cli": ["-m", "playground", "train"], "torch": ["-c", CLI_WITH_TORCH]}
            cli[name].append(wall(command[name]))

    print(
        f"\nA NumPy run before torch is in, median of {args.repeats}; {date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores; Train pressed {args.press_at:g} s after the server's start\n"
    )
    print(
        "| machine | the first run's process | trained in the quick process | Train to first step | Train to finished |"
    )
    print("|---|---|---|---|---|")
    for (machine, quick), runs in results.items():
        where = "the quick one where torch is not in yet" if quick else "from the fork server (waits for torch)"
        in_quick = f"{sum(r['quick'] for r in runs)} of {len(runs)}"
        first = statistics.median(r["first"] for r in runs)
        finished = statistics.median(r["finished"] for r in runs)
        label = "idle" if machine == "idle" else f"every core busy for {args.busy:g} s"
        print(f"| {label} | {where} | {in_quick} | {first:.2f} s | {finished:.2f} s |")
    print("\n| `python -m playground train` (NumPy, 500 steps), whole process | median | range |")
    print("|---|---|---|")
    for name, label in (
        ("cli", "as it runs (no torch)"),
        ("torch", "with torch imported first"),
        ("script", "the tutorial's NumPy cell as a script"),
    ):
        values = cli[name]
        print(f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f}–{max(values):.2f} s |")


if __name__ == "__main__":
    main()
