"""The run as files: CSV (every step's loss and learning rate, and the statistics) and replayable JSON.

The files are made once per state of the run and handed to Streamlit as bytes, with
``on_click="ignore"``: a click downloads and does not rerun the page. (With a function as
``data``, each rerun registered new file ids, and about one click in eight fetched an id that
was already gone.)
"""

from __future__ import annotations

import streamlit as st

from .. import export
from ..server.protocol import RunView


def files(view: RunView) -> tuple[bytes, bytes]:
    """The CSV and the JSON of ``view``, made again only when the run has moved on."""
    ss = st.session_state
    stamp = (id(view), view.state.steps_done, len(view.state.changes), view.history.every)
    cached = ss.get("_export")
    if cached is None or cached[0] != stamp:
        csv = export.history_csv(view.history, view.per_step, view.config, view.state.changes).encode()
        run = export.run_json(view.config, view.state.changes, view.history, view.per_step).encode()
        cached = ss["_export"] = (stamp, csv, run)
    return cached[1], cached[2]


def downloads(view: RunView | None) -> None:
    """Two buttons, for a run that is not training and has recorded something."""
    if view is None or view.running or not len(view.history):
        return
    csv, run = files(view)
    d1, d2 = st.columns(2)
    d1.download_button(
        "Download CSV",
        data=csv,
        file_name="run.csv",
        mime="text/csv",
        key="download_csv",
        on_click="ignore",
        width="stretch",
    )
    d2.download_button(
        "Download JSON",
        data=run,
        file_name="run.json",
        mime="application/json",
        key="download_json",
        on_click="ignore",
        width="stretch",
        help="Replay it: python -m playground train --config run.json",
    )
