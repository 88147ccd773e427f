"""What changed from one tutorial cell to the next: a style's file against the previous style's.

    for part in style_diff("tensor"):      # tensor_backprop.py against numpy_backprop.py
        if isinstance(part, Fold): ...     # a run of unchanged lines, folded away
        else: part.kind, part.text        # "same", "removed" or "added"

The styles follow the tutorial's order (``config.STYLES``: numpy, tensor, autograd,
function, nn, optim, module, dynamic), so the previous style is the previous cell. The
files are compared line by line (``difflib``); a run of unchanged lines longer than
``2 * context + MIN_FOLD`` keeps ``context`` lines at each end and folds the rest. No
torch, no Streamlit: the app's server renders it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .config import STYLES
from .styles import STYLES as STYLE_INFO

CONTEXT = 2  # unchanged lines kept beside a change
MIN_FOLD = 3  # fold no fewer unchanged lines than this


@dataclass(frozen=True)
class Line:
    kind: str  # "same", "removed" (only in the previous file) or "added" (only in this one)
    text: str
    old: int | None  # its number in the previous file (1-based), None for an added line
    new: int | None  # its number in this file, None for a removed line


@dataclass(frozen=True)
class Fold:
    """A run of unchanged lines, folded away."""

    lines: tuple[Line, ...]


def previous(style: str) -> str | None:
    """The style before ``style`` in the tutorial's order; None for the first."""
    index = STYLES.index(style)
    return STYLES[index - 1] if index else None


def diff(old: str, new: str, context: int = CONTEXT) -> list[Line | Fold]:
    """Text ``new`` against ``old``, line by line: the changes, and the unchanged runs folded."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[Line] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [Line("same", b[j1 + k], i1 + k + 1, j1 + k + 1) for k in range(i2 - i1)]
            continue
        lines += [Line("removed", a[i], i + 1, None) for i in range(i1, i2)]
        lines += [Line("added", b[j], None, j + 1) for j in range(j1, j2)]
    return _fold(lines, context)


def _fold(lines: list[Line], context: int) -> list[Line | Fold]:
    parts: list[Line | Fold] = []
    start = 0
    while start < len(lines):
        if lines[start].kind != "same":
            parts.append(lines[start])
            start += 1
            continue
        end = start
        while end < len(lines) and lines[end].kind == "same":
            end += 1
        keep_before = context if start > 0 else 0  # lines after a change above
        keep_after = context if end < len(lines) else 0  # lines before a change below
        if end - start - keep_before - keep_after >= MIN_FOLD:
            parts += lines[start : start + keep_before]
            parts.append(Fold(tuple(lines[start + keep_before : end - keep_after])))
            parts += lines[end - keep_after : end]
        else:
            parts += lines[start:end]
        start = end
    return parts


def style_diff(style: str, context: int = CONTEXT) -> list[Line | Fold] | None:
    """The file of ``style`` against the previous style's; None for the first style."""
    before = previous(style)
    if before is None:
        return None
    return diff(STYLE_INFO[before].source(), STYLE_INFO[style].source(), context)


def changed(parts: list[Line | Fold]) -> tuple[int, int]:
    """How many lines were added and removed."""
    added = sum(1 for p in parts if isinstance(p, Line) and p.kind == "added")
    removed = sum(1 for p in parts if isinstance(p, Line) and p.kind == "removed")
    return added, removed
