"""The code panel: the style's file as the engine runs it, or what changed from the previous cell."""

from __future__ import annotations

import html

import streamlit as st

from ..codediff import Fold, Line, changed, diff, previous, style_diff
from ..inspection.maths import chain_rule
from ..styles import MISTAKES, style_info
from ..styles import STYLES as STYLE_INFO
from .written import written_panel

CSS = """
<style>
  .bp-diff { font-family: "Source Code Pro", monospace; font-size: 0.8rem; line-height: 1.45;
             border: 1px solid rgba(128, 128, 128, 0.3); border-radius: 0.5rem; padding: 0.5rem 0; overflow-x: auto; }
  .bp-diff .ln { display: flex; white-space: pre; padding: 0 0.5rem; }
  .bp-diff .no { display: inline-block; width: 2.2em; text-align: right; opacity: 0.75; flex: none; }
  .bp-diff .sign { display: inline-block; width: 1.4em; text-align: center; flex: none; font-weight: bold; }
  .bp-diff .added { background: rgba(46, 160, 67, 0.22); }
  .bp-diff .added .sign { color: rgb(26, 127, 55); }
  .bp-diff .removed { background: rgba(248, 81, 73, 0.20); }
  .bp-diff .removed .sign { color: rgb(207, 34, 46); }
  .bp-diff details > summary { cursor: pointer; opacity: 0.8; padding: 0.1rem 0.5rem 0.1rem 4.9em;
                               background: rgba(128, 128, 128, 0.08); list-style: none; }
  .bp-diff details[open] > summary { opacity: 0.75; }
  .bp-diff .current { background: rgba(255, 193, 7, 0.35); box-shadow: inset 3px 0 0 rgb(198, 40, 40); }
  .bp-diff .current .no { opacity: 1; }
  @media (prefers-color-scheme: dark) { .bp-diff .current { background: rgba(255, 193, 7, 0.22); } }
  .bp-walk .no { margin-right: 1em; }
</style>
"""


def _line(line: Line) -> str:
    sign = {"added": "+", "removed": "−", "same": " "}[line.kind]
    old = "" if line.old is None else line.old
    new = "" if line.new is None else line.new
    return (
        f'<div class="ln {line.kind}" data-kind="{line.kind}"><span class="no">{old}</span>'
        f'<span class="no">{new}</span><span class="sign">{sign}</span>'
        f"<span>{html.escape(line.text) or ' '}</span></div>"
    )


def diff_html(parts: list[Line | Fold]) -> str:
    """The diff as HTML: added and removed lines highlighted, each unchanged run folded (click to open)."""
    out = ['<div class="bp-diff">']
    for part in parts:
        if isinstance(part, Fold):
            count = len(part.lines)
            out.append(f'<details class="fold"><summary>⋯ {count} unchanged line{"s" * (count != 1)}</summary>')
            out += [_line(line) for line in part.lines]
            out.append("</details>")
        else:
            out.append(_line(part))
    out.append("</div>")
    return "\n".join(out)


#: The lines of code the walk's stop shows around each line it ran (the code panel shows them all).
WALK_AROUND = 2


def walk_html(source: str, lines: tuple[int, ...], around: int | None = None) -> str:
    """The file with ``lines`` highlighted: where the walk of the step's graph is. With ``around``,
    only the lines within that many of a highlighted one, a gap between them marked ⋯."""
    # A scroller for long lines, so one a keyboard can reach (and a screen reader names).
    out = ['<div class="bp-diff bp-walk" tabindex="0" role="region" aria-label="The lines of code this stop ran">']
    shown = None if around is None else {n for line in lines for n in range(line - around, line + around + 1)}
    previous = None
    for number, text in enumerate(source.splitlines(), start=1):
        if shown is not None and number not in shown:
            continue
        if previous is not None and number > previous + 1:
            out.append('<div class="ln gap"><span class="no">⋯</span></div>')
        previous = number
        current = " current" if number in lines else ""
        out.append(
            f'<div class="ln{current}" data-line="{number}"><span class="no">{number}</span>'
            f"<span>{html.escape(text) or ' '}</span></div>"
        )
    out.append("</div>")
    return "\n".join(out)


def chain_rule_panel(source: str) -> None:
    """Beside a hand-written backward pass: each line with its chain-rule formula and shapes."""
    rows = chain_rule(source)
    if not rows:
        return
    with st.expander("The chain rule, line by line"):
        st.caption("Each line of the backward pass, the formula it computes, and the shapes it multiplies.")
        for number, code, equation, shapes in rows:
            st.markdown(f"Line {number}: `{code}`  \n*{shapes}*")
            st.latex(equation)


def mistake_panel(style: str, mistake: str) -> None:
    """A classic mistake: its file against the correct cell's, and what to look for."""
    wrong, right = style_info(style, mistake), STYLE_INFO[style]
    info = MISTAKES[mistake]
    st.error(f"**A classic mistake: {info.title}.** {info.shows}")
    st.caption(f"`{wrong.module}.py` against the correct `{right.module}.py`. Look for: {info.look_for}")
    st.html(CSS + diff_html(diff(right.source(), wrong.source())))


def code_panel(style: str, walk=None, mistake: str = "none") -> None:
    """The file that runs; with the toggle on, what changed from the previous cell; with a mistake,
    the mistake against the correct cell first."""
    info = style_info(style, mistake)
    before = previous(style)
    st.header("The code that runs")  # h2: the title (h1) is the only heading above it
    if mistake != "none":
        mistake_panel(style, mistake)
    written_panel(style, mistake)
    st.toggle(
        f"What changed from the previous cell ({before})" if before else "What changed from the previous cell",
        key="show_diff",
        persist_state="session",
        disabled=before is None,
        help="This cell's file against the previous cell's, in the tutorial's order: added lines in green, "
        "removed ones in red, unchanged runs folded (click one to open it).",
    )
    if st.session_state.get("show_diff") and before is not None:
        parts = style_diff(style)
        added, removed = changed(parts)
        st.caption(
            f"`{info.module}.py` against `{STYLE_INFO[before].module}.py` (the previous cell, {before}): "
            f"{added} lines added, {removed} removed."
        )
        st.html(CSS + diff_html(parts))
        return
    first = " It is the first cell: nothing comes before it to compare." if before is None else ""
    st.caption(f"`{info.module_path.replace('.', '/')}.py`: the engine runs exactly this.{first}")
    if walk is not None and walk[0].style == style:
        graph, phase, current = walk
        st.caption(f"Highlighted: where the {phase} pass is in the step's graph (Look inside one step).")
        st.html(CSS + walk_html(info.source(), graph.lines(phase, current) or graph.read_at(current)))
    else:
        st.code(info.source(), language="python", line_numbers=True)
    chain_rule_panel(info.source())
