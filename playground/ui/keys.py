"""The keyboard: a letter for each action, shown on its button, hidden on a touch screen.

Letters rather than Space or the arrows: a focused control takes those for itself (Space presses
a focused toggle, radio or tab; the arrows move a slider, a radio or the tabs), so the same key
did one thing or another, or nothing, depending on where the focus was. No control here takes a
letter. Streamlit ignores shortcuts while the focus is in a field that takes text (a number box,
a select box's search), where a letter is typing.

Train and Pause share a key: only the enabled button of the two listens. Not C and R, which are
Streamlit's own.
"""

from __future__ import annotations

#: The run buttons (``actions.py``).
RUN = {"train": "T", "pause": "T", "step": "S", "reset": "X"}
#: The walk through a step's graph (``inspector.py``).
WALK = {"forward": "Shift+B", "back": "B", "next": "N", "backward": "Shift+N"}


def shown(key: str) -> str:
    """How a key reads in a sentence: ``Shift+N`` as **Shift+N**."""
    return f"**{key}**"


RUN_TEXT = f"Keys: {shown(RUN['train'])} Train / Pause, {shown(RUN['step'])} one Step, {shown(RUN['reset'])} Reset."
WALK_TEXT = (
    f"Keys: {shown(WALK['back'])} and {shown(WALK['next'])} walk it, "
    f"{shown(WALK['forward'])} and {shown(WALK['backward'])} jump to the start of each pass."
)
