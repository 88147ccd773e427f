"""Backprop Playground: `streamlit run app.py`. The page is page.py (playground/ui/page.py).

This file is the server: Streamlit finds ``app`` below and serves page.py to every visitor.
What it adds starts, in threads, what the first page would otherwise wait for:

- when Streamlit imports this file, before its server has started: a training process without
  torch, ready in a fraction of a second, for the NumPy runs (the default style) pressed before
  torch is (``launch.start_quick``), and the training processes' fork server (it imports
  torch, seconds of CPU, at the lowest priority; see playground/warm.py), so a Train pressed
  the moment the page appears waits for torch as little as it can;
- from the start-up hook, which lets the server answer at once, while the first browser is
  still loading Streamlit's own JavaScript (about a second): the page's own modules (NumPy and
  the playground's, and the emoji table Streamlit checks a page icon against), so the first
  page's script sends its Train button sooner.

Measured by ``benchmarks.first_seconds`` (the README has the figures).
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st

PREPARED = threading.Event()  # set when prepare() is done


def start_fork_server() -> None:
    from playground.launch import start_quick, warm_up  # the standard library alone: no NumPy yet

    try:
        start_quick()
    except OSError:  # no quick process: a first NumPy run waits for the fork server, like the others
        pass
    try:
        warm_up()
    except (OSError, RuntimeError):  # no fork server here: the first page starts the workers itself
        pass


# Now, while Streamlit is still starting its server and the other core is idle: 0.24 s sooner
# than from the start-up hook, on an idle machine.
STARTING = threading.Thread(target=start_fork_server, name="fork-server", daemon=True)
STARTING.start()


def prepare() -> None:
    import streamlit.emojis  # noqa: F401  (st.set_page_config checks page_icon with it: 40 ms)

    import playground.ui.page  # noqa: F401  (the imports the first page would wait for)

    PREPARED.set()


@asynccontextmanager
async def lifespan(app):
    threading.Thread(target=prepare, name="prepare", daemon=True).start()
    yield


app = st.App("page.py", lifespan=lifespan)
