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

The protocol client (``Visitor``), one asyncio task per visitor in one event loop:

- GETs ``/_stcore/health`` and ``/_stcore/host-config`` as the frontend does before it
  connects, then opens ``ws://127.0.0.1:PORT/_stcore/stream`` with the subprotocol
  ``streamlit`` and the page's Origin, as the browser does.
- Sends the browser's first BackMsg: ``rerun_script`` with a ClientState holding the link's
  query string, no widget states, no page hash, and a ContextInfo (UTC, en-US, the URL).
- Reads the ForwardMsgs: ``new_session`` (the page's script hash), ``page_info_changed`` (the
  query string the page now shows), ``delta`` (elements: it keeps the value of every widget
  as the frontend does, and reads the Train button, the Step and Loss metrics, alerts and
  exceptions), ``auto_rerun``/``stop_auto_rerun`` (it reruns those fragments on their
  interval, as the frontend's timers do: the app's heartbeat fragment) and ``script_finished``.
- Presses Train with a ``rerun_script`` whose WidgetStates carry every widget's current value
  and the Train button's ``trigger_value: true``: the same widget ids, value fields and
  values, query string and page hash as Chromium sends (compared frame by frame, on the
  default page and on a lecture link with pills and a multiselect).

What it does not emulate: the HTML, JavaScript and static files a browser downloads (the one
Chromium page does that); the ForwardMsg cache (it never reports cached message hashes, so
the server sends every message in full, as to a fresh tab); rendering; reconnects; the
frontend's removal of widget states by element tree (it drops a widget's state when a full
run ends without drawing it); widget types this page does not have; clicks on anything but
Train. A refused visitor does not press again.
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
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from playground.testing import CHROMIUM, CHROMIUM_ARGS, free_port, launch_streamlit

BUSY = "server is busy"  # the cap's refusal (playground/ui/shared.py)
QUEUED = "in line"  # a queue's "Waiting in line: place k of n"
FINISHED = "Finished"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Page:
    """What one visitor (or the browser) saw. Times are ``time.monotonic()``."""

    name: str
    opened: float = 0.0
    ready: float | None = None  # the Train button shown, the first script run over
    pressed: float | None = None
    first_step: float | None = None  # the Step metric first above 0
    finished: float | None = None  # the "Finished ... steps" alert
    step: str = ""  # the Step and Loss metrics last shown
    loss: str = ""
    queued: bool = False
    refused: bool = False
    errors: list[str] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)  # each new Step value above 0 after the press
    replicas: list[str] = field(default_factory=list)  # the X-Replica of each response (behind a hall's proxy)

    @property
    def done(self) -> bool:
        return self.finished is not None or self.refused or bool(self.errors)

    @property
    def longest_freeze(self) -> float | None:
        """The longest the Step metric stood still between the press and the finish."""
        if self.pressed is None or self.finished is None:
            return None
        times = [self.pressed, *self.changes, self.finished]
        return max(b - a for a, b in zip(times, times[1:], strict=False))


# ---------------------------------------------------------------- the protocol client


def _widget_state(kind: str, w, old: WidgetState | None) -> WidgetState | None:
    """The value the frontend holds for a widget after this delta: the server's when it sets one
    (``set_value``), else the one it held, else the widget's default. None: a widget without a value."""
    state = WidgetState(id=w.id)
    if kind in ("selectbox", "radio"):
        if w.set_value:
            state.string_value = w.raw_value
        elif old is not None:
            return old
        elif w.HasField("default") and 0 <= w.default < len(w.options):
            state.string_value = w.options[w.default]
        else:
            return None
    elif kind == "number_input":
        if not w.set_value and old is not None:
            return old
        value = w.value if w.set_value else w.default
        if w.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = value
    elif kind == "slider":
        if not w.set_value and old is not None:
            return old
        if w.options:  # a select_slider: the formatted options
            chosen = list(w.raw_value) if w.set_value else [w.options[int(i)] for i in w.default]
            state.string_array_value.data[:] = chosen
        else:
            state.double_array_value.data[:] = list(w.value if w.set_value else w.default)
    elif kind == "checkbox":
        if not w.set_value and old is not None:
            return old
        state.bool_value = w.value if w.set_value else w.default
    elif kind in ("multiselect", "button_group"):  # button_group: st.pills, st.segmented_control
        if not w.set_value and old is not None:
            return old
        labels = [o.content for o in w.options] if kind == "button_group" else list(w.options)
        state.string_array_value.data[:] = list(w.raw_values) if w.set_value else [labels[i] for i in w.default]
    else:  # buttons (a trigger only when pressed) and widgets this page does not have
        return None
    return state


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


async def _http_get(host: str, port: int, path: str, cookies: dict[str, str]) -> tuple[int, dict[str, str]]:
    """A plain HTTP/1.1 GET, sending ``cookies`` and keeping those the answer sets; the status
    code and the headers (lower-case names)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        cookie = f"Cookie: {_cookie_header(cookies)}\r\n" if cookies else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{cookie}Connection: close\r\n\r\n".encode())
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        headers = {}
        while (line := (await reader.readline()).decode().strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if name.strip().lower() == "set-cookie":
                key, _, rest = value.strip().partition("=")
                cookies[key] = rest.split(";", 1)[0]
        await reader.read()
        return status, headers
    finally:
        writer.close()


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


class Visitor:
    """One visitor's page over Streamlit's websocket protocol (see the module's docstring)."""

    def __init__(self, name: str, base: str, query: str):
        self.page = Page(name)
        self.host, self.port = base.removeprefix("http://").rstrip("/").rsplit(":", 1)
        self.port = int(self.port)
        self.base = base.rstrip("/")
        self.url = f"{self.base}/" + (f"?{query}" if query else "")
        self.cookies: dict[str, str] = {}
        self.query_string = query
        self.page_script_hash = ""
        self.widgets: dict[str, WidgetState] = {}
        self.drawn: set[str] = set()  # widgets drawn by the full script run in progress
        self.train_id = ""
        self.train_disabled = True
        self.fragment_timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.ws = None

    def _client_state(self, msg: BackMsg, fragment_id: str = "", trigger: str = "") -> None:
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_script_hash
        cs.widget_states.widgets.extend(self.widgets.values())
        if trigger:
            cs.widget_states.widgets.add(id=trigger, trigger_value=True)
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = True
        info = cs.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = self.url, False, "light"

    async def _send_rerun(self, **kwargs) -> None:
        msg = BackMsg()
        self._client_state(msg, **kwargs)
        await self.ws.send(msg.SerializeToString())

    async def press_train(self) -> None:
        self.page.pressed = time.monotonic()
        await self._send_rerun(trigger=self.train_id)

    async def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send_rerun(fragment_id=fragment_id)

    def _error(self, text: str) -> None:
        self.page.errors.append(text)
        self.done.set()

    def _element(self, element, now: float) -> None:
        kind = element.WhichOneof("type")
        w = getattr(element, kind)
        if hasattr(w, "id") and w.id:  # a widget
            self.drawn.add(w.id)
            state = _widget_state(kind, w, self.widgets.get(w.id))
            if state is not None:
                self.widgets[w.id] = state
        page = self.page
        if kind == "button" and w.label == "Train":
            self.train_id, self.train_disabled = w.id, w.disabled
        elif kind == "metric" and w.label in ("Step", "Loss"):
            if w.label == "Step":
                value = _number(w.body)
                if page.pressed and page.finished is None and value and value > 0 and w.body != page.step:
                    page.first_step = page.first_step or now
                    page.changes.append(now)
                page.step = w.body
            else:
                page.loss = w.body
        elif kind == "exception" and not w.is_warning:  # a warning: e.g. a deprecated Streamlit call
            self._error(f"exception: {w.type}: {w.message}"[:200])
        elif kind == "alert" and page.pressed:
            text = w.body
            if QUEUED in text:
                page.queued = True
            elif BUSY in text:
                page.refused = True
                self.done.set()
            elif FINISHED in text and page.finished is None:
                page.finished = now
                self.done.set()
            elif w.format == w.ERROR:
                self._error(f"error alert: {text}"[:200])

    def _forward(self, msg: ForwardMsg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            if msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element, now)
        elif kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash
            if not msg.metadata.run.fragment_ids:
                self.drawn = set()
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment_id, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            timer = self.fragment_timers.get(fragment_id)
            if timer is None or timer[0] != interval:
                if timer is not None:
                    timer[1].cancel()
                task = asyncio.create_task(self._auto_rerun(fragment_id, interval))
                self.fragment_timers[fragment_id] = (interval, task)
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                timer = self.fragment_timers.pop(fragment_id, None)
                if timer is not None:
                    timer[1].cancel()
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY and not msg.metadata.run.fragment_ids:
                self.widgets = {k: v for k, v in self.widgets.items() if k in self.drawn}
                if self.train_id and not self.train_disabled and self.page.ready is None:
                    self.page.ready = now
                    self.ready.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Open the page and read it until ``stop``; ``press_train`` is called from outside."""
        self.page.opened = time.monotonic()
        try:
            for path in ("/_stcore/health", "/_stcore/host-config"):
                status, headers = await asyncio.wait_for(_http_get(self.host, self.port, path, self.cookies), 60)
                if status != 200:
                    self._error(f"GET {path}: {status}")
                if "x-replica" in headers:
                    self.page.replicas.append(headers["x-replica"])
            async with connect(
                f"ws://{self.host}:{self.port}/_stcore/stream",
                subprotocols=["streamlit"],
                origin=self.base,
                additional_headers={"Cookie": _cookie_header(self.cookies)} if self.cookies else None,
                proxy=None,
                max_size=None,
                open_timeout=60,
                ping_interval=None,  # a browser sends no pings (it answers the server's)
            ) as ws:
                self.ws = ws
                if "x-replica" in ws.response.headers:
                    self.page.replicas.append(ws.response.headers["x-replica"])
                await self._send_rerun()
                reader, stopped = asyncio.create_task(self._read(ws)), asyncio.create_task(stop.wait())
                await asyncio.wait([reader, stopped], return_when=asyncio.FIRST_COMPLETED)
                reader.cancel()
                stopped.cancel()
        except (OSError, ConnectionClosed, TimeoutError) as error:
            if not stop.is_set():
                self._error(f"connection: {type(error).__name__}: {error}"[:200])
        finally:
            for _, task in self.fragment_timers.values():
                task.cancel()
            self.ready.set()  # whoever waits for this page waits no more
            self.done.set()

    async def _read(self, ws) -> None:
        try:
            async for data in ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._forward(msg, time.monotonic())
        except ConnectionClosed as closed:
            self._error(f"socket closed by the server: {closed}"[:200])
            return
        self._error("socket closed by the server")


# ---------------------------------------------------------------- one real browser page

OBSERVER = """
() => {
  const s = window.__lecture = {pressed: null, firstStep: null, finished: null, queued: false,
                                refused: false, errors: [], step: '', loss: '', changes: []};
  const metric = (label) => {
    const box = [...document.querySelectorAll('[data-testid="stMetric"]')].find(
      b => (b.querySelector('[data-testid="stMetricLabel"]') || {}).innerText?.trim() === label);
    return box ? box.querySelector('[data-testid="stMetricValue"]').innerText : '';
  };
  document.addEventListener('click', e => {
    const b = e.target.closest('button');
    // startsWith: the button's text is 'Train' and then its key
    if (b && b.innerText.trim().startsWith('Train') && s.pressed === null) s.pressed = performance.now();
  }, true);
  const read = () => {
    if (s.pressed === null) return;
    const now = performance.now();
    const step = metric('Step'); s.loss = metric('Loss');
    if (s.finished === null && parseFloat(step.replace(/,/g, '')) > 0 && step !== s.step) {
      if (s.firstStep === null) s.firstStep = now;
      s.changes.push(now);
    }
    s.step = step;
    for (const a of document.querySelectorAll('[data-testid="stAlert"]')) {
      const t = a.innerText;
      if (t.includes('in line')) s.queued = true;
      else if (t.includes('server is busy')) s.refused = true;
      else if (t.includes('Finished') && s.finished === null) s.finished = now;
    }
    const ex = document.querySelector('[data-testid="stException"]');
    if (ex && !s.errors.length) s.errors.push('exception: ' + ex.innerText.slice(0, 200));
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


class BrowserPage(threading.Thread):
    """Debian's Chromium through Playwright's sync API, in a thread of its own."""

    def __init__(self):
        super().__init__(daemon=True)
        self.page = Page("chromium")
        self.url = ""
        self.launched, self.open, self.ready = threading.Event(), threading.Event(), threading.Event()
        self.go, self.done, self.stop = threading.Event(), threading.Event(), threading.Event()
        self.press_at = 0.0
        self.deadline = 0.0

    def run(self) -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    self._visit(browser.new_page(viewport={"width": 1400, "height": 1000}))
                finally:
                    browser.close()
        except Exception as error:  # report it with the others; the benchmark goes on
            self.page.errors.append(f"browser: {type(error).__name__}: {error}".splitlines()[0][:200])
        finally:
            for event in (self.launched, self.ready, self.done):
                event.set()

    def _visit(self, page) -> None:
        self.launched.set()
        self.open.wait()
        if self.stop.is_set():
            return
        self.page.opened = time.monotonic()
        page.set_default_timeout(max(1.0, self.deadline - time.monotonic()) * 1e3)
        page.goto(self.url)
        train = page.get_by_role("button", name="Train")
        train.wait_for()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
        self.page.ready = time.monotonic()
        page.evaluate(OBSERVER)
        self.ready.set()
        self.go.wait()
        time.sleep(max(0.0, self.press_at - time.monotonic()))
        train.click()
        while time.monotonic() < self.deadline and not self.stop.is_set():
            seen = page.evaluate("() => window.__lecture")
            if seen["finished"] is not None or seen["refused"] or seen["errors"]:
                break
            time.sleep(0.25)
        before = time.monotonic()
        seen, now_ms = page.evaluate("() => [window.__lecture, performance.now()]")
        offset = (before + time.monotonic()) / 2 - now_ms / 1e3  # page clock to time.monotonic()
        for name in ("pressed", "first_step", "finished"):
            value = seen["firstStep" if name == "first_step" else name]
            setattr(self.page, name, None if value is None else value / 1e3 + offset)
        self.page.step, self.page.loss = seen["step"], seen["loss"]
        self.page.queued, self.page.refused = seen["queued"], seen["refused"]
        self.page.changes = [t / 1e3 + offset for t in seen["changes"]]
        self.page.errors += seen["errors"]
        self.done.set()
        self.stop.wait(timeout=max(0.0, self.deadline + 60 - time.monotonic()))


# ---------------------------------------------------------------- the app's processes


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid; utime + stime


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _processes() -> dict[int, tuple[int, int]]:
    """(parent pid, CPU ticks) of every process, by pid."""
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (s := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = s
    return stats


def _tree(root: int, stats: dict[int, tuple[int, int]]) -> dict[int, int]:
    """CPU ticks of ``root`` and each of its descendants, by pid."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found[pid] = stats[pid][1]
            todo += children.get(pid, [])
    return found


@dataclass
class Sample:
    at: float
    pss_kb: int
    processes: int
    cpu: dict[int, int]  # the app's processes: CPU ticks by pid
    client_cpu: dict[int, int]  # this process's other descendants (Chromium): CPU ticks by pid
    own_cpu: int  # this process (the load generator): CPU ticks
    server_waits: dict[int, int]  # the server's threads: ns spent runnable, waiting for a CPU (schedstat)


class Sampler(threading.Thread):
    """PSS and CPU of the server and all its descendants, every ``every`` seconds."""

    def __init__(self, server_pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.server_pid, self.every = server_pid, every
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def sample(self) -> Sample:
        stats = _processes()
        app = _tree(self.server_pid, stats)
        ours = _tree(os.getpid(), stats)
        client = {pid: ticks for pid, ticks in ours.items() if pid not in app and pid != os.getpid()}
        pss = sum(_pss_kb(pid) for pid in app)
        return Sample(time.monotonic(), pss, len(app), app, client, ours.get(os.getpid(), 0), self._waits())

    def _waits(self) -> dict[int, int]:
        waits = {}
        try:
            for task in os.scandir(f"/proc/{self.server_pid}/task"):
                try:
                    waits[int(task.name)] = int(Path(task.path, "schedstat").read_text().split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        except OSError:
            pass
        return waits

    def run(self) -> None:
        while not self.halt.is_set():
            self.samples.append(self.sample())
            self.halt.wait(self.every)

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


def _lifetimes(samples: list[Sample]) -> dict[int, tuple[float, float, float]]:
    """Each of the app's processes: when it was first and last seen, and the CPU seconds it used."""
    seen: dict[int, tuple[float, float, float]] = {}
    for s in samples:
        for pid, ticks in s.cpu.items():
            first = seen.get(pid, (s.at,))[0]
            seen[pid] = (first, s.at, ticks / TICK)
    return seen


def _cpu_share(samples: list[Sample], pick, unit: float = TICK) -> float:
    """% of one core used between the first and last sample by the processes ``pick`` selects
    (``pick`` gives counters by pid or thread id, in 1/``unit`` s)."""
    if len(samples) < 2:
        return float("nan")
    start, used = pick(samples[0]), {}
    for s in samples:
        for pid, ticks in pick(s).items():
            used[pid] = ticks - start.get(pid, 0)
    return 100 * sum(used.values()) / unit / (samples[-1].at - samples[0].at)


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
            _reap({pid for s in sampler.samples for pid in s.cpu} - {server.pid})
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
        server_cpu=_cpu_share(run, lambda s: {server_pid: s.cpu.get(server_pid, 0)}),
        server_wait=_cpu_share(run, lambda s: s.server_waits, unit=1e9),
        training_cpu=_cpu_share(run, lambda s: {p: t for p, t in s.cpu.items() if p != server_pid}),
        client_cpu=_cpu_share(sampler.between(first, all_done), lambda s: {0: s.own_cpu}),
        browser_cpu=_cpu_share(sampler.between(first, all_done), lambda s: s.client_cpu) if browser else nan,
        start_s=start_s,
        load=load,
        log=str(log_path),
        processes=_lifetimes(sampler.samples),
    )


def _reap(pids: set[int], grace: float = 10.0) -> None:
    """Wait for the app's processes (the server's descendants) to exit; kill those left, by pid."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_stat(p) is not None for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if _stat(pid) is not None:
            try:
                os.kill(pid, 9)
            except OSError:
                pass


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
