"""Which page may take up which run after a reload (playground/ui/visits.py), with stand-ins for
the pool's clients and Streamlit's sessions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from playground.server.protocol import Command
from playground.ui import visits as visits_module
from playground.ui.visits import Visits


@dataclass
class State:
    steps_done: int = 0


@dataclass
class View:
    state: State = field(default_factory=State)


@dataclass
class Client:
    alive: bool = True
    active: bool = True
    sent: list = field(default_factory=list)
    view: View = field(default_factory=View)

    def send(self, command, *args):
        self.sent.append(command)
        if command == Command.PAUSE:
            self.active = False


def test_a_run_is_taken_up_only_by_its_session_or_after_its_session_has_gone():
    open_sessions = {"a", "b"}
    visits = Visits(is_open=lambda session: session in open_sessions)
    client = Client(active=False)
    token = visits.hold("a", client)
    assert visits.back(token, "a") == (client, False)  # its own session: a rerun, a reconnect
    assert visits.back(token, "b") is None  # another open page cannot take it
    assert visits.back("a guess", "b") is None and visits.back(None, "b") is None
    open_sessions.discard("a")  # the tab reloaded
    assert visits.back(token, "c", fits=lambda c: False) is None  # a link with other settings
    assert visits.back(token, "c") == (client, False)
    open_sessions.add("c")
    assert visits.back(token, "a") is None  # now the new page's
    visits.release(token)
    assert visits.back(token, "c") is None


def test_a_run_whose_page_went_away_pauses_and_goes_on_when_the_page_comes_back(monkeypatch):
    monkeypatch.setattr(visits_module, "WATCH_S", 0.01)
    open_sessions = {"a"}
    visits = Visits(is_open=lambda session: session in open_sessions)
    client = Client(active=True)
    token = visits.hold("a", client)
    open_sessions.clear()
    deadline = time.monotonic() + 5
    while not visits.gone(token):
        assert time.monotonic() < deadline, "the run was not paused"
        time.sleep(0.01)
    assert client.sent == [Command.PAUSE]
    assert visits.back(token, "b") == (client, True)  # it was training: it goes on
    assert not visits.gone(token)


def test_a_run_that_ended_unseen_and_a_run_from_another_server_are_told_apart(monkeypatch):
    monkeypatch.setattr(visits_module, "WATCH_S", 0.01)
    visits = Visits(is_open=lambda session: False)
    client = Client(active=False)
    client.view.state.steps_done = 321
    token = visits.hold("a", client)
    while not visits.gone(token):
        time.sleep(0.01)
    client.alive = False  # the pool dropped it
    deadline = time.monotonic() + 5
    while token in visits.visits:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert visits.back(token, "b") is None
    assert visits.lost_at(token) == 321 and not visits.elsewhere(token)
    assert visits.elsewhere("a token another replica gave out")
