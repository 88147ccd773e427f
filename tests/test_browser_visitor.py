"""In Chromium, the paths a visitor takes around the happy path: a key pressed with the focus on a
control, a reload mid-run, a closed tab, Back, a change mid-run followed by an export, a laptop's
width, a phone, and axe-core's accessibility rules on the pages a visitor sees."""

from __future__ import annotations

import csv
import io
import os
import re
import time

import pytest
from conftest import metric, set_slider, step, wait_until

pytestmark = pytest.mark.browser

LONG = "steps=1000000"  # a run that trains until it is paused
LAPTOP = {"width": 1280, "height": 800}
LR = "Learning rate (log scale)"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def button(page, key: str):
    return page.locator(f".st-key-{key}_button button:visible").first


def training(page) -> bool:
    return button(page, "pause").is_enabled()


def open_page(page, url: str) -> None:
    page.goto(url)
    button(page, "train").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")
    time.sleep(1)  # the page's script has run to its end: its keys are registered


def address(page) -> str:
    """The page's URL now (``page.url`` is what Playwright last heard, not what the page says)."""
    return page.evaluate("location.href")


def notices(page) -> str:
    return "\n".join(page.locator('[data-testid="stAlert"]').all_inner_texts())


def press_until(page, key: str, done, what: str) -> None:
    """Press ``key`` until ``done()``: a key pressed while the page reruns can go unheard, and a
    person presses it again."""
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, what
        page.keyboard.press(key)
        wait_until(lambda: done() or time.monotonic() > deadline, 3, what)


# ---------------------------------------------------------------- keys


def test_a_letter_trains_and_pauses_whatever_control_has_the_focus(page, server):
    open_page(page, f"{server}/?{LONG}")
    focus = {
        "the speed radio": lambda: page.get_by_text("Slow motion").click(),
        "the lecture-mode toggle": lambda: page.locator(".st-key-lecture input").focus(),
        "a tab": lambda: page.get_by_role("tab", name="Train").click(),
        "the learning-rate slider": lambda: page.locator(".st-key-lr input").focus(),
    }
    for name, give_focus in focus.items():
        give_focus()
        time.sleep(0.5)
        press_until(page, "t", lambda: training(page), f"T with the focus on {name} did not train")
        press_until(page, "t", lambda: not training(page), f"T with the focus on {name} did not pause")
        if name == "the speed radio":
            page.get_by_text("As fast as possible").click()
    assert not page.locator(".st-key-lecture input").is_checked()  # T is not the toggle's key
    # In a field that takes text a letter is typing: it trains nothing.
    page.locator(".st-key-steps input").click()
    page.keyboard.press("t")
    time.sleep(1.5)
    assert not training(page)


# ---------------------------------------------------------------- reload, a closed tab


def _training_cpu(url: str) -> float:
    """CPU seconds used so far by the training processes of the server at ``url`` (Linux)."""
    port = url.rsplit(":", 1)[1]
    server = next(
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit() and f"--server.port\0{port}\0" in _read(f"/proc/{pid}/cmdline")
    )
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
        if int(pid) != server and len(fields) > 12 and int(fields[2]) == server:  # in the server's group
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def test_a_click_on_empty_space_then_a_key_leaves_no_focus_frame(page, server):
    open_page(page, f"{server}/?steps=50")
    page.get_by_role("heading", name="Backprop Playground").click()  # the main area takes the focus
    page.keyboard.press("s")
    wait_until(lambda: step(page) == 1, 10, "S did not take a step")
    frame = "() => getComputedStyle(document.querySelector('[data-testid=stMain]'), '::before').boxShadow"
    assert page.evaluate("() => document.activeElement.dataset.testid") == "stMain"
    assert page.evaluate(frame) == "none"
    page.keyboard.press("Tab")  # a keyboard's visitor: the frame shows where the focus goes
    assert page.evaluate("() => document.querySelector('[data-testid=stMain]').dataset.pointed") is None


def test_a_reload_brings_the_run_back_and_a_page_left_trains_nothing(page, server):
    open_page(page, f"{server}/?{LONG}")
    page.locator("h1").click()
    press_until(page, "t", lambda: step(page) > 500, "T did not train")
    before = step(page)
    page.reload()
    button(page, "train").wait_for()
    wait_until(lambda: "Welcome back: your run goes on from step" in notices(page), 20, "no word of the run")
    wait_until(lambda: step(page) > before, 20, "the run did not go on after the reload")
    assert training(page)

    page.goto("about:blank")  # the tab leaves: its run pauses
    time.sleep(1.5)
    spent = _training_cpu(server)
    time.sleep(3)
    assert _training_cpu(server) - spent < 0.3, "a run nobody sees kept training"

    page.go_back()  # the page again, in the same tab: the run goes on where it paused
    button(page, "train").wait_for()
    wait_until(lambda: "Welcome back: your run goes on from step" in notices(page), 20, "no word of the run")
    paused_at = int(re.search(r"from step ([\d,]+)", notices(page)).group(1).replace(",", ""))
    wait_until(lambda: step(page) > paused_at, 20, "the run did not go on")
    button(page, "pause").click()


def test_another_link_in_the_same_tab_starts_afresh(page, server):
    open_page(page, f"{server}/?{LONG}")
    page.locator("h1").click()
    press_until(page, "t", lambda: step(page) > 100, "T did not train")
    open_page(page, f"{server}/?style=module")  # the tab follows another link: not the old run
    assert step(page) == 0 and "Welcome back" not in notices(page)


# ---------------------------------------------------------------- Back


def test_back_undoes_each_settings_change_then_leaves(page, server):
    open_page(page, server)
    assert page.evaluate("history.length") == 2, "opening the page added a history entry"
    set_slider(page, LR, "2e-06", "ArrowRight")
    wait_until(lambda: "lr=2e-06" in address(page), 10, "the URL did not follow the learning rate")
    page.locator(".st-key-style input").click()
    page.get_by_role("option").first.wait_for()
    page.keyboard.type("module")
    page.get_by_role("option", name=re.compile("^module")).wait_for()
    page.keyboard.press("Enter")
    wait_until(lambda: "style=module" in address(page), 10, "the URL did not follow the style")

    page.go_back()
    wait_until(lambda: "Back to earlier settings: style module → numpy" in notices(page), 15, "Back did nothing")
    assert "style=numpy" in address(page) and "lr=2e-06" in address(page)
    assert page.get_by_role("slider", name=LR).get_attribute("aria-valuetext") == "2e-06"
    page.go_back()
    wait_until(lambda: "lr 2e-06 → 1e-06" in notices(page), 15, "the second Back did nothing")
    page.go_back()
    wait_until(lambda: address(page) == "about:blank", 10, "the third Back did not leave the app")


# ---------------------------------------------------------------- a change mid-run, then the exports


def _download(page, label: str) -> str:
    with page.expect_download() as download:
        page.get_by_role("button", name=label).click()
    return open(download.value.path(), encoding="utf-8").read()


def test_a_change_mid_run_then_the_exports_hold_every_step(page, server):
    open_page(page, f"{server}/?{LONG}")
    page.locator("h1").click()
    press_until(page, "t", lambda: step(page) > 300, "T did not train")
    set_slider(page, LR, "2e-06", "ArrowRight")  # a live change, from the next step on
    time.sleep(1)
    press_until(page, "t", lambda: not training(page), "T did not pause")
    wait_until(lambda: page.get_by_role("button", name="Download CSV").count() > 0, 15, "no download")
    shown = step(page)
    rows = list(csv.DictReader(io.StringIO(_download(page, "Download CSV"))))
    assert [int(r["step"]) for r in rows] == list(range(shown)), "not a row for every step"
    rates = [float(r["lr"]) for r in rows]
    changed = rates.index(2e-6)
    assert set(rates[:changed]) == {1e-6} and set(rates[changed:]) == {2e-6} and 300 < changed < shown
    assert f"{float(rows[-1]['loss']):.4g}" == metric(page, "Loss")  # the last step's loss, as shown

    page.locator(".st-key-hidden input").fill("50")  # a change that ends the run
    page.keyboard.press("Enter")
    wait_until(lambda: "You changed hidden: the run ended at step" in notices(page), 15, "no word of the end")
    assert step(page) == shown and page.locator(".js-plotly-plot").count() >= 1  # its charts stay
    assert "Download CSV" in page.locator("body").inner_text()
    again = list(csv.DictReader(io.StringIO(_download(page, "Download CSV"))))
    assert again == rows, "the ended run's export changed"


# ---------------------------------------------------------------- a laptop, a phone


def _layout(page) -> dict:
    return page.evaluate(
        """() => ({
          cut: [...document.querySelectorAll('[data-testid=stMetricValue] *')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText),
          charts: [...document.querySelectorAll('.js-plotly-plot')]
                 .map(e => { const b = e.getBoundingClientRect(); return [b.width, b.top + scrollY]; }),
          code: (() => {
            const pre = document.querySelector('.st-key-code_panel [data-testid=stCode] pre');
            if (!pre) return null;  // not drawn yet
            const code = pre.querySelector('code');
            const probe = document.createElement('span');
            probe.textContent = 'x'.repeat(80);
            code.appendChild(probe);
            const need = probe.getBoundingClientRect().width;
            const numbers = pre.querySelector('.linenumber').getBoundingClientRect().width;
            probe.remove();
            return {need: need + numbers, room: pre.clientWidth};
          })(),
          hints: [...document.querySelectorAll('button kbd')].filter(e => e.offsetParent !== null).length,
        })"""
    )


def test_a_laptop_with_the_sidebar_open_cuts_nothing(browser, server):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    open_page(page, server)
    assert page.locator('[data-testid="stSidebar"]').is_visible()
    button(page, "train").click()
    wait_until(lambda: step(page) == 500, 30, "the run did not finish")
    time.sleep(2)  # the gradient charts
    page.locator(".st-key-code_panel [data-testid=stCode] pre").wait_for()
    layout = _layout(page)
    assert not layout["cut"], f"metrics cut: {layout['cut']}"
    assert len(layout["charts"]) >= 5 and min(w for w, _ in layout["charts"]) >= 300, layout["charts"]
    assert layout["code"]["room"] >= layout["code"]["need"], f"the code shows under 80 characters: {layout['code']}"

    open_page(page, f"{server}/?lecture=1&predict=0")  # lecture mode: bigger tick labels too
    button(page, "train").click()
    wait_until(lambda: step(page) == 500, 30, "the run did not finish")
    sizes = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot .xtick text')].map(t => parseFloat(t.style.fontSize))"
    )
    assert sizes and min(sizes) >= 16, sizes
    context.close()


def test_on_a_phone_the_charts_start_on_the_first_screen(browser, server):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    for link, charts in (("", 1), ("?data=sin", 2)):
        open_page(page, f"{server}/{link}")
        assert _layout(page)["hints"] == 0, "key hints on a touch screen"
        button(page, "train").tap()
        wait_until(lambda n=charts: len(_layout(page)["charts"]) >= n, 30, "no chart after Train")
        time.sleep(1)
        tops = [top for _, top in _layout(page)["charts"][:charts]]
        assert max(tops) < PHONE["viewport"]["height"], f"{link or 'default'}: charts start at {tops}"
    context.close()


# ---------------------------------------------------------------- axe-core


def _violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, less those in a disabled control
    (WCAG 1.4.3 exempts the text of an inactive control)."""
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            disabled = page.evaluate(
                """(selector) => {
                  const e = document.querySelector(selector);
                  const widget = e && e.closest('[class*="st-key-"], [data-testid=stElementContainer]');
                  return !!(widget && widget.querySelector('[disabled], [aria-disabled=true]'));
                }""",
                node["target"][0],
            )
            if not disabled:
                found.append(f"{violation['id']}: {node['html'][:120]} ({(node.get('failureSummary') or '')[:200]})")
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation(browser, server, scheme):
    """In the visitor's light or dark preference, which the page follows."""
    context = browser.new_context(viewport={"width": 1280, "height": 5000}, color_scheme=scheme)  # all on screen
    page = context.new_page()
    open_page(page, server)
    ground = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    dark = sum(int(c) for c in re.findall(r"\d+", ground)[:3]) < 3 * 128
    assert dark == (scheme == "dark"), f"a {scheme} visitor got the background {ground}"
    button(page, "train").click()
    wait_until(lambda: step(page) == 500, 30, "the run did not finish")
    time.sleep(2)
    found = _violations(page)
    assert not found, ("the page after a run", found)
    page.get_by_text("Look inside one step").click()
    button(page, "inspect").click()
    page.get_by_text("Forward pass, 1 of").wait_for()
    page.locator(".st-key-walk_graph [data-testid=stGraphVizChart] svg").first.wait_for()
    found = _violations(page)
    assert not found, ("the inspector", found)
    page.get_by_role("tab", name="Compare runs").click()
    time.sleep(1)
    found = _violations(page)
    assert not found, ("the compare tab", found)
    open_page(page, f"{server}/?lecture=1")
    found = _violations(page)
    assert not found, ("the lecture link", found)
    context.close()
