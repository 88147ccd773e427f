"""Plotly figures as plain dicts of NumPy arrays.

Streamlit validates every figure it is given; a dict of NumPy arrays is the
cheapest form of it to check, far cheaper than the same data as Python lists or a
``go.Figure`` (docs/performance.md). Histories are thinned to at most
``MAX_POINTS`` points and histograms are sent as precomputed bars.
"""

from __future__ import annotations

import numpy as np

from ..config import DATA_LABELS
from ..record import counts, statistic, zeros

MAX_POINTS = 300
RULE_OF_THUMB = 1e-3  # a healthy update moves a weight by about 1/1000 of its size

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def thin(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` points spread over ``n``, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(int))


def _layout(title: str, ytitle: str, xtitle: str = "step", log_y: bool = False, height: int = 300) -> dict:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
        "xaxis": {"title": {"text": xtitle}},
        "yaxis": {"title": {"text": ytitle}, "type": "log" if log_y else "linear", "exponentformat": "power"},
        "legend": {"orientation": "h", "y": -0.25},
        "uirevision": "keep",  # keep the user's zoom across live updates
    }


def placeholder(fig: dict) -> dict:
    """Plotly refuses a figure with no trace: give an empty one an invisible trace."""
    if not fig["data"]:
        fig["data"].append({"type": "scatter", "x": np.zeros(0), "y": np.zeros(0), "showlegend": False})
    return fig


def _finite(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def loss_figure(history, diverged_at: int | None = None) -> dict:
    n = len(history)
    fig = {"data": [], "layout": _layout("Loss (summed squared error)", "loss", log_y=True)}
    if n:
        idx = thin(n)
        fig["data"].append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "loss",
                "x": history["step"][idx],
                "y": _finite(history["loss"][idx]),
                "line": {"color": COLORS[0]},
            }
        )
    if diverged_at is not None:
        fig["layout"]["shapes"] = [
            {
                "type": "line",
                "x0": diverged_at,
                "x1": diverged_at,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "red", "dash": "dot"},
            }
        ]
    return placeholder(fig)


def per_tensor_figure(history, names: list[str], stat: str, title: str, ytitle: str, rule: float | None = None) -> dict:
    """One line per weight tensor of ``<name>.<stat>`` over the steps that have it."""
    fig = {"data": [], "layout": _layout(title, ytitle, log_y=True)}
    if len(history) and names and statistic(names[0], stat) in history:
        steps = history["step"]
        for i, name in enumerate(names):
            values = history[statistic(name, stat)]
            has = np.flatnonzero(np.isfinite(values) & (values > 0))
            idx = has[thin(len(has))]
            fig["data"].append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": steps[idx],
                    "y": values[idx],
                    "line": {"color": COLORS[i % len(COLORS)]},
                }
            )
    if rule is not None:
        fig["layout"]["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": rule,
                "y1": rule,
                "line": {"color": "gray", "dash": "dash"},
            }
        ]
        fig["layout"]["annotations"] = [
            {
                "xref": "paper",
                "x": 1,
                "y": np.log10(rule),
                "text": "~1e-3",
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "bottom",
            }
        ]
    return placeholder(fig)


#: Per histogram kind (record.HISTOGRAM_KINDS): its title and what its axis measures.
KIND_TITLES = {
    "gradients": ("Gradient", "gradient"),
    "weights": ("Weight", "weight"),
    "updates": ("Update", "update"),
    "activations": ("Hidden-layer activation", "activation"),
}


def _latest(histograms, key: str) -> int | None:
    """The index of the latest histogram row that counted ``key`` (a row of a kind asked for later has none)."""
    if counts(key) not in histograms:
        return None
    totals = histograms[counts(key)].sum(axis=1) + histograms[zeros(key)]
    recorded = np.flatnonzero(totals > 0)
    return int(recorded[-1]) if len(recorded) else None


def histogram_figure(histograms, names: list[str], edges: dict[str, np.ndarray], kind: str = "gradients") -> dict:
    """The latest histogram of each of ``names`` (series of ``kind``, see ``record.series``), as the
    fraction of its entries per octave of |value|. Exact zeros, which no octave holds, stand as a
    spike one octave left of the lowest bin: a dead ReLU unit's gradients, an example's switched-off units."""
    title, unit = KIND_TITLES[kind]
    fig = {
        "data": [],
        "layout": _layout(f"{title} histogram (latest)", "fraction of entries", xtitle=f"|{unit}| (powers of two)"),
    }
    fig["layout"]["xaxis"]["type"] = "log"
    fig["layout"]["xaxis"]["exponentformat"] = "power"
    fig["layout"]["legend"] = {"orientation": "h", "y": -0.45}  # below the axis title
    fig["layout"]["height"] = 380
    fig["layout"]["margin"]["b"] = 120
    if not len(histograms):
        return placeholder(fig)
    left = min((edges[name][0] for name in names if name in edges), default=None)
    for i, name in enumerate(names):
        row = _latest(histograms, name) if name in edges else None
        if row is None:
            continue
        latest = histograms[counts(name)][row]
        exact_zeros = int(histograms[zeros(name)][row])
        total = max(int(latest.sum()) + exact_zeros, 1)
        centers = np.sqrt(edges[name][:-1] * edges[name][1:])
        shown = name.split(".", 1)[1] if kind != "gradients" else name
        label = f"{shown} ({exact_zeros} exactly 0)" if exact_zeros else shown
        color = COLORS[i % len(COLORS)]
        fig["data"].append(
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hvh", "color": color},
                "name": label,
                "legendgroup": name,
                "x": centers,
                "y": latest / total,
            }
        )
        if exact_zeros:
            at = left / 2 * 2 ** (0.12 * i)  # side by side, left of every octave
            fig["data"].append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "line": {"color": color, "width": 5},
                    "marker": {"size": [0, 9], "color": color},
                    "name": f"{shown}: exactly 0",
                    "legendgroup": name,
                    "showlegend": False,
                    "x": np.array([at, at]),
                    "y": np.array([0.0, exact_zeros / total]),
                    "hovertemplate": f"{shown}: %{{y:.3f}} of entries exactly 0<extra></extra>",
                }
            )
    if any(trace.get("showlegend") is False for trace in fig["data"]):
        fig["layout"]["annotations"] = [
            {"x": np.log10(left / 2), "y": 0, "yanchor": "top", "text": "0", "showarrow": False, "yshift": -2}
        ]
    return placeholder(fig)


def heatmap_figure(histograms, name: str, edges: np.ndarray, kind: str = "gradients") -> dict:
    """Stacked histograms of one series over time: its distribution as it moves."""
    title, unit = KIND_TITLES[kind]
    shown = name.split(".", 1)[1] if kind != "gradients" else name
    fig = {"data": [], "layout": _layout(f"{title} distribution over time: {shown}", f"log2 |{unit}|")}
    if not len(histograms) or counts(name) not in histograms:
        return placeholder(fig)
    rows = histograms[counts(name)]
    idx = thin(len(rows), 300)
    totals = rows[idx].sum(axis=1) + histograms[zeros(name)][idx]
    z = (rows[idx] / np.maximum(totals, 1)[:, None]).T
    z = np.where(z > 0, z, np.nan)  # empty bins (and steps before this kind was recorded) stay blank
    fig["data"].append(
        {
            "type": "heatmap",
            "x": histograms["step"][idx],
            "y": np.log2(edges[:-1]),
            "z": z,
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": "fraction"}},
            "hovertemplate": "step %{x}<br>|value| ≥ 2^%{y}<br>%{z:.3f} of entries<extra></extra>",
        }
    )
    return fig


def compare_figure(labels: list[str], views: list) -> dict:
    """The loss curves of several runs in one chart."""
    fig = {"data": [], "layout": _layout("Loss of each run", "loss", log_y=True, height=420)}
    for i, view in enumerate(views):
        if not len(view.history):
            continue
        idx = thin(len(view.history))
        fig["data"].append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": labels[i],
                "x": view.history["step"][idx],
                "y": _finite(view.history["loss"][idx]),
                "line": {
                    "color": COLORS[i % len(COLORS)],
                    "width": 2,
                    "dash": "solid" if i < len(COLORS) else "dot",
                },
            }
        )
    fig["layout"]["legend"] = {"orientation": "v", "x": 1.02, "y": 1}
    return placeholder(fig)


def enlarge(fig: dict, factor: float = 1.2) -> dict:
    """Bigger type and a taller chart, for a projector."""
    layout = fig["layout"]
    layout["height"] = int(layout.get("height", 300) * factor)
    layout["font"] = {"size": 18}
    layout["title"]["font"] = {"size": 24}
    for name in [n for n in layout if n.startswith(("xaxis", "yaxis"))]:  # Streamlit's theme sets 12 px ticks
        layout[name] = {**layout[name], "tickfont": {"size": 16}}
    return fig


def fit_figure(data: str, points: tuple[np.ndarray, np.ndarray], grid: np.ndarray, target: np.ndarray, fit) -> dict:
    """A curve's fit: the training points, the target curve and the network's prediction, its
    kinks marked (where a hidden unit turns on or off). ``fit`` is ``Trainer.fit()``, or None
    before the first step."""
    step = f" after {fit['step']} step{'s' * (fit['step'] != 1)}" if fit is not None else ""
    what = DATA_LABELS[data].split(": ", 1)[1]
    fig = {"data": [], "layout": _layout(f"Fit of {what}{step}", "y", xtitle="x")}
    x, y = points
    fig["data"].append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "target",
            "x": grid,
            "y": target,
            "line": {"color": "gray", "dash": "dash"},
        }
    )
    fig["data"].append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"{len(x)} points",
            "x": x,
            "y": y,
            "marker": {"color": COLORS[1], "size": 6},
        }
    )
    if fit is not None:
        depth = f" (depth {fit['depth']})" if fit.get("depth") is not None else ""
        fig["data"].append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"network{depth}",
                "x": fit["x"],
                "y": _finite(fit["y"]),
                "line": {"color": COLORS[0], "width": 3},
            }
        )
        kinks = fit["kinks"]
        if len(kinks):
            fig["data"].append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "kinks",
                    "x": kinks,
                    "y": _finite(np.interp(kinks, fit["x"], fit["y"])),
                    "marker": {"color": COLORS[0], "size": 6, "symbol": "diamond-open"},
                }
            )
    # Fixed axes: the chart stays still while the prediction moves (or runs off when a run diverges).
    low, high = float(min(target.min(), y.min())), float(max(target.max(), y.max()))
    margin = 0.15 * (high - low or 1.0)
    fig["layout"]["yaxis"]["range"] = [low - margin, high + margin]
    fig["layout"]["xaxis"]["range"] = [float(grid[0]), float(grid[-1])]
    fig["layout"]["height"] = 340
    fig["layout"]["legend"] = {"orientation": "h", "y": -0.22, "font": {"size": 11}}
    return fig


def summary(fig: dict) -> str:
    """What ``fig`` shows now, in a sentence read from its own traces: the text alternative that
    goes under every chart (a screen reader cannot read a chart)."""
    layout = fig["layout"]
    title = layout["title"]["text"]
    xname = layout.get("xaxis", {}).get("title", {}).get("text", "x")
    parts = []
    for trace in fig["data"]:
        x, name = np.asarray(trace.get("x", [])), trace.get("name", "")
        if not len(x) or trace.get("showlegend") is False:
            continue
        if trace["type"] == "heatmap":
            parts.append(f"{len(x)} histograms from {xname} {x[0]:g} to {x[-1]:g}")
            continue
        y = np.asarray(trace["y"], dtype=float)
        finite = np.flatnonzero(np.isfinite(y))
        if not len(finite):
            continue
        if trace.get("mode") == "markers":
            parts.append(f"{len(x)} {name}" if not name[:1].isdigit() else name)
        elif "hvh" in str(trace.get("line", {}).get("shape")):  # a histogram: where most entries are
            peak = finite[np.argmax(y[finite])]
            parts.append(f"{name} peaks at {x[peak]:.2g} ({y[peak]:.0%} of entries)")
        else:
            first, last = finite[0], finite[-1]
            name = "" if name.lower() in title.lower() else f"{name} "  # the title says it already
            parts.append(f"{name}from {y[first]:.3g} at {xname} {x[first]:g} to {y[last]:.3g} at {xname} {x[last]:g}")
    return f"{title}: {'; '.join(parts)}." if parts else f"{title}: nothing recorded yet."
