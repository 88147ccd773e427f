"""Backprop Playground: `streamlit run app.py`. The page is page.py (playground/ui/page.py).

This file is the server: Streamlit finds ``app`` below and serves page.py to every visitor.
What it adds is a start-up hook: the training processes' fork server (it imports torch,
seconds of CPU, at the lowest priority; see playground/warm.py) starts with the server,
while the first browser is still loading Streamlit's own JavaScript, instead of with the
first page. Measured by ``benchmarks.first_seconds``: a Train pressed the moment the page
appears no longer waits for torch.
"""

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(app):
    from playground.worker import warm_up

    try:
        warm_up()
    except (OSError, RuntimeError):  # no fork server here: the first page starts the workers itself
        pass
    yield


app = st.App("page.py", lifespan=lifespan)
