"""The page's own CSS: what Streamlit's elements cannot be told.

- On a touch screen (no hover, a coarse pointer) the buttons' key hints are hidden: there is no
  keyboard to press them with.

And one script. As the tab leaves the page (a reload, Back, closing it), it writes the token of the
run it showed to a cookie, which the next page of the tab reads to find that run (``visits.py``).
And Streamlit ignores a button's key while the focus is on any ``<input>``, a radio button, a
toggle and a slider included, though none takes a letter; so after a click on the speed, the
learning rate or the lecture-mode toggle the keys did nothing. The script passes a letter pressed
there to the enabled button that shows it, as Streamlit does everywhere else.
"""

from __future__ import annotations

import streamlit as st

from .visits import COOKIE, COOKIE_S

CSS = """
<style>
  @media (hover: none) and (pointer: coarse) {
    button kbd { display: none !important; }
    .st-key-keys_hint { display: none; }
  }
</style>
"""


SCRIPT = """
<script>
  window.playgroundRun = "TOKEN";
  if (!window.playgroundKeys) {
    window.playgroundKeys = true;
    window.addEventListener("pagehide", () => {
      if (window.playgroundRun) {
        document.cookie = `COOKIE=${window.playgroundRun}; max-age=MAX_AGE; path=/; SameSite=Lax`;
      }
    });
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      const choice = target.tagName === "INPUT" && ["radio", "checkbox", "range"].includes(target.type);
      if (!choice || event.ctrlKey || event.metaKey || event.altKey || !/^[a-z]$/i.test(event.key)) return;
      const key = (event.shiftKey ? "Shift+" : "") + event.key.toUpperCase();
      for (const hint of document.querySelectorAll(`kbd[aria-label="Shortcut ${key}"]`)) {
        const button = hint.closest("button");
        if (button && !button.disabled) {
          event.preventDefault();
          button.click();
          return;
        }
      }
    }, true);
  }
</script>
"""


def style(run_token: str | None) -> None:
    """The CSS, and the script (with the token of the run this page shows, if any)."""
    st.html(CSS)
    script = SCRIPT.replace("TOKEN", run_token or "").replace("COOKIE", COOKIE).replace("MAX_AGE", str(COOKIE_S))
    st.html(script, unsafe_allow_javascript=True)
