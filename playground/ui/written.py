"""Write the backward pass yourself: the cell's lines from ``grad_y_pred`` to the update in a text
box, checked on the inspected step against autograd line by line, then trained with.

The text is never run as Python, here or anywhere: the training process parses it within the
grammar of ``inspection/written.py`` and runs only what that grammar holds. The page sends it and
shows the verdict; a run trains with it through the ``backward`` setting (it travels in the link,
the run file and the command line like any setting).
"""

from __future__ import annotations

import html

import streamlit as st

from ..config import SETTINGS_BY_NAME
from ..inspection import written
from ..inspection.written import cell_lines, with_your_lines
from ..server.protocol import Command
from ..styles import style_info
from .actions import act, client, new_run

WRITTEN_CSS = """
<style>
  .st-key-written_text textarea { font-family: "Source Code Pro", monospace; font-size: 0.85rem; line-height: 1.45; }
  .bp-verdict .ln { display: flex; gap: 0.6em; align-items: baseline; }
  .bp-verdict .mark { flex: none; width: 7.5em; font-family: inherit; white-space: nowrap; }
  .bp-verdict .off { background: rgba(248, 81, 73, 0.20); }
  .bp-verdict .off .mark { font-weight: bold; }
  .bp-verdict .cell { opacity: 0.85; font-style: italic; }
</style>
"""

#: How each verdict reads beside its line.
MARKS = {"exact": "✓ exact", "within rounding": "✓ rounding", "off": "✗ off", "not checked": "· not checked"}


def written_panel(style: str, mistake: str) -> None:
    """The box, its buttons and the verdict, for a cell whose backward pass is written by hand."""
    if style not in written.BACKENDS or mistake != "none":
        return
    ss = st.session_state
    drafts = ss.setdefault("written_drafts", {})  # per cell: the box's text outlives the box (another style)
    if ss.get("written_style") != style or "written_text" not in ss:
        ss.written_style = style
        ss.written_text = drafts.get(style) or ss.get("backward") or cell_lines(style)
    mine = bool(ss.get("backward"))
    c = client()
    running = bool(c and c.active)
    with st.expander("Write the backward pass yourself", expanded=mine or bool(ss.get("written_open"))):
        st.caption(
            "Rewrite any line from `grad_y_pred` to the update. **Check** runs your lines on the step "
            "you looked inside (the same weights and data) and compares every value with autograd's; "
            "**Train with it** trains the run with your lines. The text is never run as Python: only "
            "the lines the grammar holds are accepted (see *What a line may hold*)."
        )
        st.toggle(
            "Exercise: one line at a time",
            key="written_exercise",
            on_change=_exercise,
            args=(style,),
            help="Empties the box and asks for each line of the backward pass and update in turn, with its "
            "chain-rule equation as a hint; Check moves on once a line agrees with autograd.",
        )
        if ss.get("written_exercise"):
            _ask(style)
        st.text_area(
            "Your backward pass and update",
            key="written_text",
            height=260,
            max_chars=int(SETTINGS_BY_NAME["backward"].high),
            help="Ctrl+Enter (or leaving the box) takes the text; then press Check.",
            on_change=_keep,
            args=(style,),
        )
        _buttons(style, mine, running)
        _verdict()
    if mine:
        _yours_in_the_cell(style, ss.backward)


def _buttons(style: str, mine: bool, running: bool) -> None:
    row = st.container(horizontal=True, key="written_buttons")  # one row, a phone's included
    row.button(
        "Check",
        key="written_check",
        on_click=act,
        args=(_check,),
        disabled=running,
        help="Pause the run first: the check looks inside its next step." if running else None,
    )
    row.button(
        "Train with it",
        key="written_train",
        on_click=_train_with,
        type="primary" if not mine else "secondary",
        help="The run starts again with your lines (the link carries them); then press Train.",
    )
    row.button("Reset to the cell", key="written_reset", on_click=_reset, args=(style,))
    with row.popover("What a line may hold"):
        st.markdown(GRAMMAR)


def _yours_in_the_cell(style: str, text: str) -> None:
    """The run trains with the learner's lines: the cell's file with them, as a diff."""
    from ..codediff import changed, diff
    from .code import CSS as CODE_CSS
    from .code import diff_html

    parts = diff(style_info(style).source(), with_your_lines(style, text))
    added, removed = changed(parts)
    st.info(
        f"**This run trains with your lines** ({added} added, {removed} removed against the cell): the "
        "cell's forward pass, then your lines, which the engine runs within the grammar."
    )
    st.html(CODE_CSS + diff_html(parts))


def _keep(style: str) -> None:
    st.session_state.written_drafts[style] = st.session_state.written_text


def _check(cfg) -> None:
    """Send the text to the run's process, which checks it on the inspected step (``act``)."""
    ss = st.session_state
    ss.written_open = True
    c = client()
    if c is None or not c.alive or c.view.error:
        if cfg is None:
            return
        c = new_run(cfg)
    c.request(Command.WRITTEN, ss.get("written_text", ""), timeout=60.0)
    _walk_to_first_off(c)


def _walk_to_first_off(c) -> None:
    """Take the walk to the node of the first line that is off, so the graph, its equation and
    the cell's line stand beside the verdict."""
    from ..inspection.graph import StepGraph

    verdict, inspected = c.view.written or {}, c.view.inspected or {}
    wrong = next((v for v in verdict.get("lines", []) if v["verdict"] == "off"), None)
    if wrong is None or not inspected.get("graph"):
        return
    stops = StepGraph.from_dict(inspected["graph"]).walk()
    if ("backward", wrong["target"]) in stops:
        c.view.walk_at = stops.index(("backward", wrong["target"]))


#: The exercise's order: each name a line makes, as the cell makes them.
ORDER = ("grad_y_pred", "grad_w2", "grad_h_relu", "grad_h", "grad_w1", "w1", "w2")


def _exercise(style: str) -> None:
    """The exercise toggled: on, an empty box; off, the text the box held before it."""
    ss = st.session_state
    ss.written_open = True
    if ss.get("written_exercise"):
        ss.written_before, ss.written_text = ss.get("written_text", ""), ""
    else:
        ss.written_text = ss.pop("written_before", None) or cell_lines(style)
    ss.written_drafts[style] = ss.written_text
    c = client()
    if c is not None:
        c.view.written = None


def _asked() -> str | None:
    """The name the exercise asks for now: the first in ``ORDER`` that no line has made to agree
    with autograd yet (None: every one does)."""
    c = client()
    verdict = (c.view.written if c else None) or {}
    right = {v["target"] for v in verdict.get("lines", []) if v["verdict"] in ("exact", "within rounding")}
    return next((name for name in ORDER if name not in right), None)


def _ask(style: str) -> None:
    from ..inspection.maths import HAND_WRITTEN

    asked = _asked()
    if asked is None:
        st.success("**All seven lines agree with autograd.** Press *Train with it* to train with them.")
        return
    number = ORDER.index(asked) + 1
    if asked in written.WEIGHTS:
        what = f"the update of `{asked}`, with `learning_rate` and `grad_{asked}`"
    else:
        what = f"`{asked}`, the gradient of `{written.GRADIENT_OF[asked]}` (the same shape)"
    st.markdown(f"**Line {number} of {len(ORDER)}:** write {what}, below the lines you have, then press Check.")
    equation = HAND_WRITTEN.get(asked, (None,))[0]
    hint, answer = st.container(horizontal=True, key="written_hints").columns(2)
    with hint.popover("Hint: the chain rule here"):
        if equation:
            st.latex(equation)
        else:
            st.markdown(f"A step down the gradient: `{asked}` less the learning rate times `grad_{asked}`.")
    with answer.popover("Show the cell's line"):
        st.code("\n".join(cell_lines_for(style, asked)), language="python")


def cell_lines_for(style: str, name: str) -> list[str]:
    """The cell's lines that write ``name``."""
    return [line for line in cell_lines(style).splitlines() if line.split("=")[0].split("[")[0].rstrip(" -+") == name]


def _train_with() -> None:
    ss = st.session_state
    ss.written_open = True
    ss.backward = ss.get("written_text", "")


def _reset(style: str) -> None:
    ss = st.session_state
    ss.written_text, ss.backward, ss.written_exercise = cell_lines(style), "", False
    ss.written_drafts.pop(style, None)


def _verdict() -> None:
    c = client()
    verdict = c.view.written if c else None
    if not verdict:
        return
    for kind, word in (("refused", "Not accepted"), ("failed", "Failed as it ran")):
        if kind in verdict:
            st.error(f"**{word}, line {verdict[kind]['line']}:** {verdict[kind]['why']}")
            return
    lines = verdict["lines"]
    if not lines:
        st.info("No lines yet: write one, then press Check.")
        return
    t = verdict.get("t")
    at = f" on step {t + 1} (t = {t})" if t is not None else ""
    wrong = next((v for v in lines if v["verdict"] == "off"), None)
    if wrong is None:
        st.success(
            f"**Every line agrees with autograd**{at}: exact, or equal within the rounding of another order of sums."
        )
    else:
        size = "its shape differs" if wrong["largest"] == float("inf") else f"off by up to {wrong['largest']:.3g}"
        st.error(
            f"**Line {wrong['line']} is the first that is off**{at}: `{wrong['target']}` is {size} from autograd's."
        )
    style = st.session_state.get("written_style")
    rows = []
    for v in lines:
        mark = MARKS.get(v["verdict"], "· " + v["verdict"].replace("checked at", "at"))
        if v["verdict"] == "off" and v["largest"] != float("inf"):
            mark = f"✗ off {v['largest']:.2g}"
        off = " off" if v["verdict"] == "off" else ""
        rows.append(
            f'<div class="ln{off}"><span class="no">{v["line"]}</span><span class="mark">{html.escape(mark)}</span>'
            f"<span>{html.escape(v['text'])}</span></div>"
        )
        cells = cell_lines_for(style, v["target"]) if off and style else []
        mine = [w["text"] for w in lines if w["target"] == v["target"]]
        if cells != mine and not st.session_state.get("written_exercise"):  # the exercise keeps its answers
            for line in cells:
                rows.append(
                    '<div class="ln cell"><span class="no"></span><span class="mark">the cell:</span>'
                    f"<span>{html.escape(line)}</span></div>"
                )
    from .code import CSS as CODE_CSS  # code.py draws this panel

    st.html(
        CODE_CSS + WRITTEN_CSS + '<div class="bp-diff bp-verdict" tabindex="0" role="region" '
        'aria-label="Each line against autograd">' + "".join(rows) + "</div>"
    )


GRAMMAR = """
Each line is one of:

- `grad_NAME = expression`, for `grad_y_pred`, `grad_w2`, `grad_h_relu`, `grad_h`, `grad_w1`
  (each has the shape of what it is the gradient of);
- `grad_NAME[comparison] = number`: masking in place, as in `grad_h[h < 0] = 0`;
- `w1 -= expression` (or `+=`), and the same for `w2`.

An expression may use the step's names (`x`, `y`, `h`, `h_relu`, `y_pred`, `w1`, `w2`, the
gradients made above, `learning_rate` or `self.learning_rate`), numbers, `+ - * / ** @`,
comparisons (`< <= > >=`), `.T`, slices and whole-number indices, and:

- NumPy (the numpy cell): `.dot()`, `.copy()`, `.sum(axis=)`, `.clip(min=, max=)`,
  `.transpose()`, `np.maximum()`, `np.dot()`, `np.square()`, `np.where()`;
- torch (the tensor cell): `.mm()`, `.t()`, `.clone()`, `.clamp(min=, max=)`, `.sum(dim=)`,
  `.matmul()`, `torch.clamp()`, `torch.mm()`, `torch.where()`.

Nothing else: no imports, calls of other functions, other attributes, names starting with `_`,
strings, loops or functions. Shapes are checked before a line runs, and a line may not make a
value more than 4 times the step's largest array.
"""
