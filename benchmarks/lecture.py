"""A lecture's worth of visitors: a room of students opens the link and presses Train in the same minute.

    python -m benchmarks.lecture --visitors 1 4 20 [--spread 5] [--no-browser] [--query "style=optim"]
    PLAYGROUND_MAX_CONCURRENT_RUNS=100 python -m benchmarks.lecture --visitors 60
    python -m benchmarks.lecture --visitors 60 120 --url http://127.0.0.1:8080   # a running hall

With ``--url`` the pages open a server that is already running (a hall of replicas behind its
proxy, ``make hall``) instead of a fresh one, and no server resources are sampled. Each visitor
keeps the cookies it is given, as a browser does, and notes the replica that answered each of
its requests (HAProxy's ``X-Replica`` header): the report says how the pages spread over the
replicas and whether every page stayed on one.

For each N, on a fresh ``streamlit run app.py`` (``playground.testing.launch_streamlit``; the
environment passes through, so ``PLAYGROUND_*`` settings apply), on 127.0.0.1 only:

0. The lecturer's page (a protocol client, on the projector) opens the link, trains once to
   the end and stays open. The app starts its workers' fork server (it imports torch) when
   its first page opens; without this a first Train waits 4-10 s for it. ``--cold`` skips it.
1. N simulated visitors open the page at once, speaking Streamlit's own websocket protocol
   (below), and one real Chromium page (Playwright, Debian's Chromium) opens it too.
2. Once every page shows its Train button, they press Train, spread evenly over ``--spread``
   seconds (5) in an order shuffled with a fixed seed (the browser takes one of the slots).
3. Each page is read until its run is shown finished ("Finished 500 steps"), refused (an
   info saying the server is busy), or broken (an exception element, an error alert, a
   closed socket), or until the deadline (``--deadline``, 180 s from the server answering;
   what has not finished by then is a timeout, counted as an error). A page that shows
   "... in line ..." (a queue) counts as queued and is read on.
4. The pages then stay open and idle for ``--idle`` seconds (10) before they close.

Per page: the time from the press to the first Step above 0, how many Step values it showed
and the longest it stood still before "Finished". A thread samples every 0.25 s the PSS of the
server process and all its descendants (the workers' fork server and the workers;
``/proc/PID/smaps_rollup``), their CPU time (``/proc/PID/stat``), and how long the server's
threads waited, runnable, for a CPU (``/proc/PID/task/*/schedstat``). CPU is given as % of one
core from the first press until every page is done. ``--verbose`` prints every page's story.

The pages are ``benchmarks.visitor.Visitor`` (Streamlit's protocol) and
``benchmarks.browser_page.BrowserPage`` (Chromium); ``benchmarks.app_processes`` samples the server.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from playground.testing import free_port, launch_streamlit

from .app_processes import Sampler, cpu_share, lifetimes, reap
from .browser_page import BrowserPage
from .visitor import Page, Visitor

# ---------------------------------------------------------------- one N


@dataclass
class Result:
    visitors: int
    pages: list[Page]
    browser: Page | None
    lecturer: Page | None  # the projector's page, which trained once before the visitors came
    first_press: float | None
    last_finish: float | None
    open_pss_mb: float  # every page open, before the first press
    peak_pss_mb: float
    peak_processes: int
    idle_pss_mb: float
    idle_processes: int
    server_cpu: float
    server_wait: float  # % of one thread: the server's threads runnable but waiting for a CPU, summed
    training_cpu: float
    client_cpu: float
    browser_cpu: float
    start_s: float
    load: float  # the machine's 1-minute load average before the server started
    log: str
    processes: dict[int, tuple[float, float, float]]  # the app's processes: first and last seen, CPU s

    @property
    def all_pages(self) -> list[Page]:
        return self.pages + ([self.browser] if self.browser else [])


def _press_times(count: int, spread: float, seed: int) -> list[float]:
    """Offsets spread evenly over ``spread`` seconds, shuffled with ``seed``."""
    offsets = [spread * i / max(1, count - 1) for i in range(count)]
    random.Random(seed).shuffle(offsets)
    return offsets


async def _crowd(base: str, n, args, browser: BrowserPage | None, deadline: float):
    """Open the pages, press Train, read them to the end, keep them open ``args.idle`` s.

    Returns the visitors, the lecturer's page, when the visitors opened theirs and when every
    page was done (or the deadline passed)."""
    stop = asyncio.Event()

    async def until(awaitables) -> None:
        """Wait for all of ``awaitables``, or until the deadline: then cancel what is left."""
        tasks = [asyncio.ensure_future(a) for a in awaitables]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
            for task in late:
                task.cancel()

    tasks, lecturer = [], None
    if not args.cold:  # the projector's page: one run shown to the end warms the workers' fork server
        lecturer = Visitor("lecturer", base, args.query)
        tasks.append(asyncio.create_task(lecturer.run(stop)))
        await until([lecturer.ready.wait()])
        if lecturer.page.ready is not None:
            await lecturer.press_train()
            await until([lecturer.done.wait()])
    opened = time.monotonic()
    visitors = [Visitor(f"visitor {i + 1}", base, args.query) for i in range(n)]
    tasks += [asyncio.create_task(v.run(stop)) for v in visitors]
    if browser is not None:
        browser.url = f"{base}/" + (f"?{args.query}" if args.query else "")
        browser.deadline = deadline
        browser.open.set()

    waits = [v.ready.wait() for v in visitors]
    if browser is not None:
        waits.append(asyncio.to_thread(browser.ready.wait, max(0.0, deadline - time.monotonic())))
    await until(waits)
    offsets = _press_times(n + (browser is not None), args.spread, args.seed)
    start = time.monotonic() + 0.2

    async def press(v: Visitor, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if v.page.ready is None or v.done.is_set():
            if not v.page.errors:
                v._error("the page never showed its Train button")
            return
        await v.press_train()

    if browser is not None:
        browser.press_at = start + offsets[-1]
        browser.go.set()
    await until([press(v, start + at) for v, at in zip(visitors, offsets, strict=False)])
    waits = [v.done.wait() for v in visitors]
    if browser is not None:
        waits.append(asyncio.to_thread(browser.done.wait, max(0.0, deadline - time.monotonic())))
    await until(waits)
    for v in visitors:
        if not v.page.done:
            v.page.errors.append(f"timeout: {'no finish' if v.page.pressed else 'no press'} by the deadline")
    all_done = time.monotonic()
    await asyncio.sleep(args.idle)  # every page stays open, idle
    stop.set()
    _, stuck = await asyncio.wait(tasks, timeout=30)  # each closes its socket (at most 10 s)
    for task in stuck:
        task.cancel()
    return visitors, lecturer, opened, all_done


def run_once(n: int, args) -> Result:
    """One fresh server, N protocol visitors and (unless ``args.no_browser``) one Chromium page."""
    browser = None if args.no_browser else BrowserPage()
    if browser is not None:
        browser.start()
        browser.launched.wait(timeout=60)
    load = os.getloadavg()[0]
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"lecture-streamlit-{port}.log"
    started = time.monotonic()
    if args.url:  # a running server (a hall): nothing to start, nothing of its own to sample
        server, base = None, args.url.rstrip("/")
    else:
        with open(log_path, "w") as log:
            server, base = launch_streamlit(port, log)
    start_s = time.monotonic() - started
    server_pid = server.pid if server is not None else -1  # -1: no process of ours is the server
    sampler = Sampler(server_pid)
    sampler.start()
    try:
        deadline = time.monotonic() + args.deadline
        visitors, lecturer, opened, all_done = asyncio.run(_crowd(base, n, args, browser, deadline))
        if browser is not None and not browser.page.done:
            browser.page.errors.append("timeout: no finish by the deadline")
    finally:
        if browser is not None:  # let the browser's thread end, whatever happened
            for event in (browser.open, browser.go, browser.stop):
                event.set()
            browser.join(timeout=30)
        idle_end = time.monotonic()
        sampler.halt.set()
        sampler.join()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            reap({pid for s in sampler.samples for pid in s.cpu} - {server.pid})
    pages = [v.page for v in visitors]
    everyone = pages + ([browser.page] if browser else [])
    finishes = [p.finished for p in everyone if p.finished is not None]
    first_press = min((p.pressed for p in everyone if p.pressed is not None), default=None)
    first = first_press or all_done
    run = sampler.between(first, all_done)  # CPU: from the first press until every page is done
    crowd = sampler.between(opened, idle_end)
    before = sampler.between(opened, first)
    peak = max(crowd, key=lambda s: s.pss_kb, default=None)
    nan = float("nan")
    if server is None:  # a running hall's processes are not ours to sample: only the clients' CPU
        before = crowd = run = []
        peak = None
    return Result(
        visitors=n,
        pages=pages,
        browser=browser.page if browser else None,
        lecturer=lecturer.page if lecturer else None,
        first_press=first_press,
        last_finish=max(finishes) if finishes else None,
        open_pss_mb=before[-1].pss_kb / 1024 if before else nan,
        peak_pss_mb=peak.pss_kb / 1024 if peak else nan,
        peak_processes=max((s.processes for s in crowd), default=0),
        idle_pss_mb=crowd[-1].pss_kb / 1024 if crowd else nan,
        idle_processes=crowd[-1].processes if crowd else 0,
        server_cpu=cpu_share(run, lambda s: {server_pid: s.cpu.get(server_pid, 0)}),
        server_wait=cpu_share(run, lambda s: s.server_waits, unit=1e9),
        training_cpu=cpu_share(run, lambda s: {p: t for p, t in s.cpu.items() if p != server_pid}),
        client_cpu=cpu_share(sampler.between(first, all_done), lambda s: {0: s.own_cpu}),
        browser_cpu=cpu_share(sampler.between(first, all_done), lambda s: s.client_cpu) if browser else nan,
        start_s=start_s,
        load=load,
        log=str(log_path),
        processes=lifetimes(sampler.samples),
    )


# ---------------------------------------------------------------- the report


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))] if ordered else float("nan")


def _s(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.1f}"


def row(r: Result) -> tuple[str, str]:
    everyone = r.all_pages
    waits = [p.first_step - p.pressed for p in everyone if p.first_step is not None and p.pressed is not None]
    ready = [p.ready - p.opened for p in everyone if p.ready is not None]
    b = r.browser
    browser = "–"
    if b is not None:
        browser = _s(b.first_step - b.pressed) if b.first_step and b.pressed else "refused" if b.refused else "none"
    errors = sum(bool(p.errors) for p in everyone)
    finished = sum(p.finished is not None for p in everyone)
    span = r.last_finish - r.first_press if r.last_finish and r.first_press else None
    pages = f"{r.visitors}" + (" + 1" if b else "")
    ran = [p for p in everyone if p.finished is not None]
    updates = statistics.median(len(p.changes) for p in ran) if ran else None
    freezes = [p.longest_freeze for p in ran]
    experience = (
        f"| {pages} | {_s(statistics.median(ready)) if ready else '–'} / {_s(max(ready, default=None))} "
        f"| {_s(statistics.median(waits)) if waits else '–'} | {_s(_percentile(waits, 95))} "
        f"| {_s(max(waits, default=None))} | {browser} "
        f"| {'–' if updates is None else f'{updates:g}'} "
        f"| {_s(statistics.median(freezes)) if freezes else '–'} / {_s(max(freezes, default=None))} "
        f"| {_s(span)} | {finished}/{len(everyone)} "
        f"| {sum(p.queued for p in everyone)} | {sum(p.refused for p in everyone)} | {errors} |"
    )
    resources = (
        f"| {pages} | {r.open_pss_mb:,.0f} | {r.peak_pss_mb:,.0f} ({r.peak_processes}) "
        f"| {r.idle_pss_mb:,.0f} ({r.idle_processes}) "
        f"| {r.server_cpu:.0f} | {r.server_wait:.0f} | {r.training_cpu:.0f} | {r.client_cpu:.0f} "
        f"| {_s(r.browser_cpu) if b else '–'} "
        f"| {r.start_s:.1f} | {r.load:.1f} |"
    )
    return experience, resources


EXPERIENCE = (
    "| pages (protocol + browser) | page ready s (median / max) | first step s median | p95 | max "
    "| browser first step s | Step updates seen per run (median) | longest freeze s (median / max) "
    "| first press → last finish s | finished | queued | refused | errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)
RESOURCES = (
    "| pages | PSS MB, pages open | peak PSS MB (processes) | PSS MB, idle after (processes) | server CPU % "
    "| server threads waiting for a CPU % | training CPU % | load generator CPU % | Chromium CPU % "
    "| server start s | load average before |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def header(args) -> str:
    import streamlit

    from playground.config import Limits

    limits = Limits.from_env()
    cap = f"{limits.max_concurrent_runs}, PLAYGROUND_TRAINING_PROCESSES={limits.training_processes}"
    link = f"`/?{args.query}`" if args.query else "`/` (numpy, 500 steps)"
    if args.url:
        link += f" at {args.url} (a running hall: its limits are its own, its resources not sampled)"
    return (
        f"Lecture load test: {date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, streamlit {streamlit.__version__}; link {link}; "
        f"PLAYGROUND_MAX_CONCURRENT_RUNS={cap}; Train pressed over {args.spread:g} s; "
        "the load generator and Chromium on the same machine"
    )


def spread(r: Result) -> str:
    """How the protocol pages spread over a hall's replicas, and whether each stayed on one."""
    on: dict[str, int] = {}
    moved = []
    for p in r.pages:
        seen = set(p.replicas)
        if len(seen) > 1:
            moved.append(p.name)
        for replica in seen:
            on[replica] = on.get(replica, 0) + 1
    if not on:
        return "no replica named in the answers (no X-Replica header)"
    mean = len(r.pages) / len(on)
    off = max(abs(count - mean) / mean for count in on.values())
    counts = ", ".join(f"{name} {count}" for name, count in sorted(on.items()))
    return f"pages per replica: {counts} (at most {off:.0%} off an even share); on more than one replica: {len(moved)}"


def _timeline(p: Page, zero: float) -> str:
    """One page's story, in seconds from ``zero`` (the first press)."""

    def at(t: float | None) -> str:
        return "–" if t is None else f"{t - zero:+.2f}"

    waited = f" ({p.first_step - p.pressed:.2f} s after the press)" if p.first_step and p.pressed else ""
    if p.longest_freeze is not None:
        waited += f", {len(p.changes)} Step updates, longest freeze {p.longest_freeze:.2f} s"
    marks = " queued" * p.queued + " REFUSED" * p.refused + "".join(f" ERROR {e}" for e in p.errors)
    return (
        f"{p.name}: opened {at(p.opened)}, ready {at(p.ready)}, pressed {at(p.pressed)}, "
        f"first step {at(p.first_step)}{waited}, finished {at(p.finished)}, step {p.step}, loss {p.loss}{marks}"
    )


def main(argv=None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, nargs="+", default=[20], help="N; several: one server each")
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which Train is pressed")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds per N, from the server answering")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds the pages stay open after the runs")
    parser.add_argument("--query", default="", help="the link's query string, e.g. style=optim&steps=300")
    parser.add_argument("--seed", type=int, default=0, help="the order of the presses")
    parser.add_argument("--no-browser", action="store_true", help="protocol visitors only, no Chromium page")
    parser.add_argument(
        "--cold", action="store_true", help="no lecturer's run first: the visitors meet a cold fork server"
    )
    parser.add_argument("--url", default="", help="a running server or hall to open, e.g. http://127.0.0.1:8080")
    parser.add_argument("--verbose", action="store_true", help="every page's outcome")
    args = parser.parse_args(argv)
    results, lines = [], []
    for n in args.visitors:
        r = run_once(n, args)
        results.append(r)
        lines.append(row(r))
        errors = [f"  {p.name}: {e}" for p in r.all_pages + [r.lecturer] * bool(r.lecturer) for e in p.errors]
        print(f"N={n}: {lines[-1][0]}  (server log: {r.log})", flush=True)
        if args.url:
            print(f"N={n}: {spread(r)}", flush=True)
        for line in errors[:10] + ([f"  ... {len(errors) - 10} more"] if len(errors) > 10 else []):
            print(line, flush=True)
        if args.verbose:
            pages = sorted(r.all_pages, key=lambda p: p.pressed or math.inf)
            zero = r.first_press or 0.0
            for p in [r.lecturer] * bool(r.lecturer) + pages:
                print(f"  {_timeline(p, zero)}", flush=True)
            for pid, (first, last, cpu) in sorted(r.processes.items(), key=lambda item: item[1][0]):
                print(f"  process {pid}: seen {first - zero:+.2f} to {last - zero:+.2f}, {cpu:.2f} s CPU", flush=True)
    print(f"\n{header(args)}\n\n{EXPERIENCE}")
    print("\n".join(e for e, _ in lines))
    print(f"\n{RESOURCES}")
    print("\n".join(r for _, r in lines))
    return results


if __name__ == "__main__":
    main()
