"""A visitor that speaks Streamlit's own websocket protocol, as the browser does: the load tests' page.

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

import asyncio
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

BUSY = "server is busy"  # the cap's refusal (playground/ui/shared.py)
QUEUED = "in line"  # a queue's "Waiting in line: place k of n"
FINISHED = "Finished"


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
