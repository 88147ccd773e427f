"""The page's own CSS: what Streamlit's elements cannot be told.

- On a touch screen (no hover, a coarse pointer) the buttons' key hints are hidden: there is no
  keyboard to press them with.
- Captions, key hints and the code's colours are darker, to read at 4.5:1 and more (WCAG AA); in
  dark mode (the visitor's system preference, which Streamlit follows) they are lighter.
- The code goes below the charts where the page is too narrow for both side by side (a laptop
  with the sidebar open): Streamlit stacks columns only on a phone's width.
- On a phone the run buttons and the metrics keep to one line each, which Streamlit would stack.
- The walk's graph is no taller than the window, so the node, its equation and its code share a
  screen; on a phone the graph shown is the stop's neighbourhood, its labels at full size.

And one script. It writes the token of the run the page shows to a cookie, and again as the tab
leaves the page (a reload, Back, closing it, when another tab may have written its own since):
the next page of the tab reads it to find that run (``visits.py``).
And Streamlit ignores a button's key while the focus is on any ``<input>``, a radio button, a
toggle and a slider included, though none takes a letter; so after a click on the speed, the
learning rate or the lecture-mode toggle the keys did nothing. The script passes a letter pressed
there to the enabled button that shows it, as Streamlit does everywhere else. And a click on empty
space focuses the main area, whose focus frame then showed at the next key: the script marks the
area as clicked (Tab clears the mark), and the CSS shows no frame on a clicked area.
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
  /* Captions and key hints dark enough to read (4.5:1 and more; Streamlit's grey gives 3.9:1). */
  [data-testid="stCaptionContainer"] { opacity: 1 !important; color: #5e5d5b !important; }
  button:not(:disabled):not([kind="primary"]) kbd { color: #5e5d5b !important; opacity: 1 !important; }
  /* The code's colours, darker than Streamlit's (2.3 to 3.6:1 on its grey) to read at 4.5:1 and more. */
  [data-testid="stCode"] .token.string { color: #1a7f37; }
  [data-testid="stCode"] .token.keyword, [data-testid="stCode"] .token.builtin,
  [data-testid="stCode"] .token.class-name, [data-testid="stCode"] .token.function { color: #0550ae; }
  [data-testid="stCode"] .token.comment { color: #5c6370; }
  [data-testid="stCode"] .token.number, [data-testid="stCode"] .token.boolean { color: #0b6e6e; }
  [data-testid="stCode"] .linenumber { color: #6e6d6b !important; }
  /* The page's one level of headings under its title, at a section's size. */
  [data-testid="stMainBlockContainer"] h2 { font-size: 1.5rem; }
  /* A chosen pill's label (Streamlit's red on its pink reads at 4.47:1). */
  button[data-variant="pills"][aria-checked="true"] p { color: #a3202f; }
  /* No focus frame round the main area after a click on it (the script marks it; Tab clears it). */
  [data-testid="stMain"][data-pointed]::before { box-shadow: none !important; }
  /* A visitor in dark mode (Streamlit follows the system's preference): the same rules' colours,
     light on Streamlit's dark grounds, and the walk's edge labels and lines light on the page. */
  @media (prefers-color-scheme: dark) {
    [data-testid="stCaptionContainer"] { color: #b9b9c0 !important; }
    button:not(:disabled):not([kind="primary"]) kbd { color: #b9b9c0 !important; }
    [data-testid="stCode"] .token.string { color: #7ee787; }
    [data-testid="stCode"] .token.keyword, [data-testid="stCode"] .token.builtin,
    [data-testid="stCode"] .token.class-name, [data-testid="stCode"] .token.function { color: #79c0ff; }
    [data-testid="stCode"] .token.comment { color: #a0a8b4; }
    [data-testid="stCode"] .token.number, [data-testid="stCode"] .token.boolean { color: #56d4dd; }
    [data-testid="stCode"] .linenumber { color: #a8a8ae !important; }
    button[data-variant="pills"][aria-checked="true"] p { color: #ffb3b8; }
    [data-testid="stSliderThumbValue"], [data-testid="stSliderThumbValue"] p { color: #ff8a94; }  /* 3.5:1 in red */
    .bp-diff .added .sign { color: #7ee787; }
    .bp-diff .removed .sign { color: #ff8f87; }
    .st-key-walk_graph .edge text[fill="#555566"], .st-key-walk_near .edge text[fill="#555566"] { fill: #d0d0da; }
    .st-key-walk_graph .edge [stroke="#8a8a99"], .st-key-walk_near .edge [stroke="#8a8a99"] { stroke: #a8a8b8; }
    .st-key-walk_graph .edge polygon[fill="#8a8a99"], .st-key-walk_near .edge polygon[fill="#8a8a99"] { fill: #a8a8b8; }
  }
  /* The code beside the charts only where both have room (80 characters of code, charts 300 px wide). */
  .st-key-workspace { container-type: inline-size; }
  @container (max-width: 1499px) {
    [data-testid="stHorizontalBlock"]:has(.st-key-code_panel) { flex-direction: column; }
    [data-testid="stHorizontalBlock"]:has(.st-key-code_panel) > [data-testid="stColumn"] {
      width: 100% !important; flex: 1 1 auto !important;
    }
  }
  /* The walk: its graph no taller than the window, beside what the stop shows, so that the node,
     its equation and its lines of code are on one screen. On a phone, the stop's neighbourhood. */
  .st-key-walk_graph svg { max-height: calc(100vh - 8rem); width: auto !important; max-width: 100%; height: auto; }
  .st-key-walk_graph [data-testid="stGraphVizChart"] { display: flex; justify-content: center; }
  .st-key-walk_near { display: none !important; }
  .st-key-walk_stop [data-testid="stVerticalBlock"] { gap: 0.5rem; }
  /* A phone: the buttons on one line, and the metrics, so the charts start on the first screen. */
  @media (max-width: 640px) {
    .st-key-walk_graph { display: none !important; }
    .st-key-walk_near { display: flex !important; overflow-x: auto; }
    .st-key-walk_near svg { max-width: none !important; }
    .st-key-walk_buttons { gap: 0.35rem; }
    .st-key-walk_buttons button { padding: 0.25rem 0.55rem; }
    [data-testid="stMainBlockContainer"] { padding-top: 3rem; }
    [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.6rem; }
    [data-testid="stMainBlockContainer"] h1 { font-size: 1.75rem; }
    .st-key-run_row [data-testid="stHorizontalBlock"],
    .st-key-metrics_row [data-testid="stHorizontalBlock"] { flex-wrap: wrap; gap: 0.5rem; }
    .st-key-run_row [data-testid="stColumn"],
    .st-key-metrics_row [data-testid="stColumn"] {
      min-width: 0 !important; flex: 1 1 0 !important; width: auto !important;
    }
    .st-key-run_row [data-testid="stColumn"]:last-child { min-width: 100% !important; flex-basis: 100% !important; }
    .st-key-metrics_row [data-testid="stColumn"]:nth-child(2) { flex-grow: 2 !important; }  /* the loss */
    .st-key-metrics_row [data-testid="stMetricValue"] { font-size: 1.5rem; }
  }
</style>
"""


SCRIPT = """
<script>
  window.playgroundRun = "TOKEN";
  window.playgroundCookie = () => {
    const run = window.playgroundRun;
    document.cookie = `COOKIE=${run}; max-age=${run ? MAX_AGE : 0}; path=/; SameSite=Lax`;
  };
  window.playgroundCookie();
  TALLY_SCRIPT  // the predictions' tally, right/asked
  if (!window.playgroundKeys) {
    window.playgroundKeys = true;
    window.addEventListener("pagehide", () => window.playgroundCookie());
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      const choice = target.tagName === "INPUT" && ["radio", "checkbox", "range"].includes(target.type);
      if (!choice || event.ctrlKey || event.metaKey || event.altKey || !/^[a-z]$/i.test(event.key)) return;
      const key = (event.shiftKey ? "Shift + " : "") + event.key.toUpperCase();  // as Streamlit labels it
      for (const hint of document.querySelectorAll(`kbd[aria-label="Shortcut ${key}"]`)) {
        const button = hint.closest("button");
        if (button && !button.disabled) {
          event.preventDefault();
          button.click();
          return;
        }
      }
    }, true);
    // The main area is a scroller that a click focuses; its focus frame is for a visitor who
    // reached it with Tab, not for one who clicked empty space and then pressed a key.
    document.addEventListener("pointerdown", (event) => {
      const main = event.target.closest && event.target.closest('[data-testid="stMain"]');
      if (main) main.dataset.pointed = "";
    }, true);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Tab") document.querySelector('[data-testid="stMain"]')?.removeAttribute("data-pointed");
    }, true);
  }
</script>
"""


def style(run_token: str | None) -> None:
    """The CSS, and the script (with the token of the run this page shows, if any, and the
    predictions' tally)."""
    from .predict import TALLY_SCRIPT, tally_text

    st.html(CSS)
    script = SCRIPT.replace("TALLY_SCRIPT", TALLY_SCRIPT.replace("TALLY", tally_text()))
    script = script.replace("TOKEN", run_token or "").replace("COOKIE", COOKIE).replace("MAX_AGE", str(COOKIE_S))
    st.html(script, unsafe_allow_javascript=True)
