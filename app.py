"""Backprop Playground: `streamlit run app.py`. The page is page.py (playground/ui/page.py).

This file is the server: Streamlit finds ``app`` below and serves page.py to every visitor.
What it adds starts, in threads, what the first page would otherwise wait for:

- when Streamlit imports this file, before its server has started: the training processes'
  fork server, which imports torch at the lowest priority (playground/server/warm.py), so that
  a Train pressed the moment the page appears waits for torch as little as it can;
- from the start-up hook, which lets the server answer at once, while the first browser is
  still loading Streamlit's own JavaScript: the page's own modules (NumPy and the playground's,
  and the emoji table Streamlit checks a page icon against), so the first page's script sends
  its Train button sooner.

docs/performance.md has what each of these saves.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st

PREPARED = threading.Event()  # set when prepare() is done


def start_fork_server() -> None:
    from playground.server.launch import warm_up  # the standard library alone: no NumPy yet

    try:
        warm_up()
    except (OSError, RuntimeError):  # no fork server here: the first page starts the workers itself
        pass


STARTING = threading.Thread(target=start_fork_server, name="fork-server", daemon=True)
STARTING.start()


def prepare() -> None:
    import streamlit.emojis  # noqa: F401  (st.set_page_config checks page_icon with it)

    import playground.ui.page  # noqa: F401  (the imports the first page would wait for)

    PREPARED.set()


@asynccontextmanager
async def lifespan(app):
    threading.Thread(target=prepare, name="prepare", daemon=True).start()
    yield


app = st.App("page.py", lifespan=lifespan)
