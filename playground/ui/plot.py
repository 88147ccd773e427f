"""The one way the page draws a chart.

Every chart element gets a key of its own, made here: Streamlit refuses two charts with
the same generated ID in one script run, which is what two identical figures get, e.g.
when a live redraw finds nothing new (slow motion: the statistics change every 20 steps,
the charts redraw every 3 s). Callers name the chart; they cannot forget the key.
"""

from __future__ import annotations

import streamlit as st

from . import charts

CHART_CONFIG = {"displayModeBar": False}


def plot(fig: dict, name: str, live: bool = False, look_for: str = "") -> None:
    """Draw ``fig`` under a key made from ``name`` and a per-session counter, and under it what it
    shows now, in words (``charts.summary``), and what to look for in it.

    In lecture mode the figure is enlarged for the back row. ``live``: a run is training, so
    draw a static chart (no hover, zoom or pan machinery), which the browser redraws far faster.
    """
    ss = st.session_state
    ss["_plots"] = ss.get("_plots", 0) + 1
    text = charts.summary(fig) + (f" Look for: {look_for}" if look_for else "")
    if ss.get("lecture"):
        fig = charts.enlarge(fig)
    config = {**CHART_CONFIG, "staticPlot": True} if live else CHART_CONFIG
    st.plotly_chart(fig, key=f"{name}-{ss['_plots']}", config=config)
    st.caption(text)
