"""A run outlives its page's reload, and trains only while a page shows it.

A run belongs to the session (the browser tab) that started it. When that tab's connection
closes (a reload, Back to another site, a closed tab, a phone that locks its screen), the run is
paused within a second: no unseen run keeps a core. The page that comes next in the same tab
finds it by its token, which the tab writes to a cookie when it shows the run and again as it
leaves (``look.SCRIPT``): a reload shows the same run at the same step, and a run that was
training goes on. A session that reconnects (a phone waking) takes its paused run up again the
same way. A run that no page comes back for ends when the pool drops silent runs
(``pool.orphan_s``). A page that a hall's proxy moved to another replica, because its own
stopped, finds a token this server never gave out, and says that its run is gone.

Only a run whose session has gone can be taken: a copied URL or a stolen cookie cannot take
a run from a page that still shows it.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from ..server.pool import RunClient
from ..server.protocol import Command

COOKIE = "playground_run"  # the token of the run the tab showed as it left (look.SCRIPT writes it)
COOKIE_S = 3600  # how long the cookie lasts
WATCH_S = 0.5  # how often the sessions are looked at
KEPT = 10_000  # tokens remembered (issued, lost), for the page that comes back to say what became of its run


def session_id() -> str | None:
    """This script run's session (None outside a server: AppTest)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def session_is_open(session: str | None) -> bool:
    """Whether ``session``'s tab is still connected (True where that cannot be known)."""
    from streamlit import runtime

    if session is None or not runtime.exists():
        return True
    return runtime.get_instance().is_active_session(session)


@dataclass
class Visit:
    session: str
    client: RunClient
    gone: bool = False  # its session's tab went away
    resume: bool = False  # it was training then: it was paused, and goes on when a page comes back


class Visits:
    """The runs of the server's pages, by token."""

    def __init__(self, is_open=session_is_open):
        self.is_open = is_open
        self.lock = threading.Lock()
        self.visits: dict[str, Visit] = {}
        self.lost: dict[str, int] = {}  # runs that ended while no page showed them: the step they reached
        self.issued: dict[str, None] = {}  # the tokens this server gave out (the latest KEPT)
        self.watcher: threading.Thread | None = None

    def hold(self, session: str | None, client: RunClient) -> str:
        """``client`` is ``session``'s run from now on: its token."""
        token = secrets.token_urlsafe(16)
        if session is not None:
            with self.lock:
                self.visits[token] = Visit(session, client)
                self.issued[token] = None
                while len(self.issued) > KEPT:
                    del self.issued[next(iter(self.issued))]
                self._watch()
        return token

    def elsewhere(self, token: str | None) -> bool:
        """Whether ``token`` names a run this server never had: another replica's, which stopped
        (a hall's proxy sent the page here), or this server's before it restarted."""
        with self.lock:
            return bool(token) and token not in self.issued

    def release(self, token: str | None) -> None:
        """The page let its run go (it ended, or a new one replaced it)."""
        with self.lock:
            self.visits.pop(token, None)

    def back(self, token: str | None, session: str | None, fits=lambda client: True) -> tuple[RunClient, bool] | None:
        """The run of ``token`` for ``session``, if it is this session's or its own session has gone
        (a reload, a reconnect), and ``fits`` it; and whether it goes on training. None if it
        cannot be taken."""
        with self.lock:
            visit = self.visits.get(token) if token and session else None
            if visit is None or not visit.client.alive or not fits(visit.client):
                return None
            if visit.session != session and self.is_open(visit.session):
                return None  # another open page shows it
            resume = visit.resume
            visit.session, visit.gone, visit.resume = session, False, False
            return visit.client, resume

    def lost_at(self, token: str | None) -> int | None:
        """The step the run of ``token`` reached, if it ended while no page showed it."""
        with self.lock:
            return self.lost.pop(token, None) if token else None

    def gone(self, token: str | None) -> bool:
        """Whether the page of ``token``'s run went away (so its run was paused)."""
        with self.lock:
            visit = self.visits.get(token)
            return visit is not None and visit.gone

    def _watch(self) -> None:
        if self.watcher is None:
            self.watcher = threading.Thread(target=self._look, name="visits", daemon=True)
            self.watcher.start()

    def _look(self) -> None:
        while True:
            time.sleep(WATCH_S)
            with self.lock:
                for token, visit in list(self.visits.items()):
                    if not visit.client.alive:
                        del self.visits[token]
                        if visit.gone:
                            self.lost[token] = visit.client.view.state.steps_done
                            while len(self.lost) > KEPT:
                                del self.lost[next(iter(self.lost))]
                    elif not visit.gone and not self.is_open(visit.session):
                        visit.gone = True
                        if visit.client.active:
                            visit.resume = True
                            visit.client.send(Command.PAUSE)
