"""One real Chromium page (Playwright, Debian's Chromium) among the load test's visitors, timed as it shows."""

from __future__ import annotations

import threading
import time

from playground.testing import CHROMIUM, CHROMIUM_ARGS

from .visitor import Page

# ---------------------------------------------------------------- one real browser page

OBSERVER = """
() => {
  const s = window.__lecture = {pressed: null, firstStep: null, finished: null, queued: false,
                                refused: false, errors: [], step: '', loss: '', changes: []};
  const metric = (label) => {
    const box = [...document.querySelectorAll('[data-testid="stMetric"]')].find(
      b => (b.querySelector('[data-testid="stMetricLabel"]') || {}).innerText?.trim() === label);
    return box ? box.querySelector('[data-testid="stMetricValue"]').innerText : '';
  };
  document.addEventListener('click', e => {
    const b = e.target.closest('button');
    // startsWith: the button's text is 'Train' and then its key
    if (b && b.innerText.trim().startsWith('Train') && s.pressed === null) s.pressed = performance.now();
  }, true);
  const read = () => {
    if (s.pressed === null) return;
    const now = performance.now();
    const step = metric('Step'); s.loss = metric('Loss');
    if (s.finished === null && parseFloat(step.replace(/,/g, '')) > 0 && step !== s.step) {
      if (s.firstStep === null) s.firstStep = now;
      s.changes.push(now);
    }
    s.step = step;
    for (const a of document.querySelectorAll('[data-testid="stAlert"]')) {
      const t = a.innerText;
      if (t.includes('in line')) s.queued = true;
      else if (t.includes('server is busy')) s.refused = true;
      else if (t.includes('Finished') && s.finished === null) s.finished = now;
    }
    const ex = document.querySelector('[data-testid="stException"]');
    if (ex && !s.errors.length) s.errors.push('exception: ' + ex.innerText.slice(0, 200));
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


class BrowserPage(threading.Thread):
    """Debian's Chromium through Playwright's sync API, in a thread of its own."""

    def __init__(self):
        super().__init__(daemon=True)
        self.page = Page("chromium")
        self.url = ""
        self.launched, self.open, self.ready = threading.Event(), threading.Event(), threading.Event()
        self.go, self.done, self.stop = threading.Event(), threading.Event(), threading.Event()
        self.press_at = 0.0
        self.deadline = 0.0

    def run(self) -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    self._visit(browser.new_page(viewport={"width": 1400, "height": 1000}))
                finally:
                    browser.close()
        except Exception as error:  # report it with the others; the benchmark goes on
            self.page.errors.append(f"browser: {type(error).__name__}: {error}".splitlines()[0][:200])
        finally:
            for event in (self.launched, self.ready, self.done):
                event.set()

    def _visit(self, page) -> None:
        self.launched.set()
        self.open.wait()
        if self.stop.is_set():
            return
        self.page.opened = time.monotonic()
        page.set_default_timeout(max(1.0, self.deadline - time.monotonic()) * 1e3)
        page.goto(self.url)
        train = page.get_by_role("button", name="Train")
        train.wait_for()
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
        self.page.ready = time.monotonic()
        page.evaluate(OBSERVER)
        self.ready.set()
        self.go.wait()
        time.sleep(max(0.0, self.press_at - time.monotonic()))
        train.click()
        while time.monotonic() < self.deadline and not self.stop.is_set():
            seen = page.evaluate("() => window.__lecture")
            if seen["finished"] is not None or seen["refused"] or seen["errors"]:
                break
            time.sleep(0.25)
        before = time.monotonic()
        seen, now_ms = page.evaluate("() => [window.__lecture, performance.now()]")
        offset = (before + time.monotonic()) / 2 - now_ms / 1e3  # page clock to time.monotonic()
        for name in ("pressed", "first_step", "finished"):
            value = seen["firstStep" if name == "first_step" else name]
            setattr(self.page, name, None if value is None else value / 1e3 + offset)
        self.page.step, self.page.loss = seen["step"], seen["loss"]
        self.page.queued, self.page.refused = seen["queued"], seen["refused"]
        self.page.changes = [t / 1e3 + offset for t in seen["changes"]]
        self.page.errors += seen["errors"]
        self.done.set()
        self.stop.wait(timeout=max(0.0, self.deadline + 60 - time.monotonic()))
