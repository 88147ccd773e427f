"""In Chromium, the first page a new server draws: its sidebar learns the devices by itself.

A module of its own, so that its server is new: the page is drawn before the device check (a
worker importing torch) answers, as a learner's first page after `streamlit run` is where torch
is a build that may have a GPU. This project's CPU-only build is known without the check
(``devices.known_without_torch``), so the server is told to ask a worker all the same.
"""

from __future__ import annotations

import pytest

from playground.devices import ASK_TORCH

pytestmark = pytest.mark.browser

SERVER_ENV = {ASK_TORCH: "1"}
LOOKING = "Looking for GPUs"


def test_the_first_page_shows_the_device_check_answer_without_a_click(page, server):
    page.add_init_script(
        f"""
        window.__looking = false;
        new MutationObserver(() => {{
          if (document.body && document.body.innerText.includes("{LOOKING}")) window.__looking = true;
        }}).observe(document, {{subtree: true, childList: true, characterData: true}});
        """
    )
    page.goto(f"{server}/?style=module")  # a torch style: NumPy trains on the CPU only
    page.get_by_label("Device").wait_for()
    # Nothing is touched from here on: the page reruns itself once the check answers.
    page.wait_for_function(f"() => !document.body.innerText.includes('{LOOKING}')", timeout=60_000)
    assert page.evaluate("window.__looking"), "the check answered before the page was drawn: nothing tested"
    page.get_by_label("Device").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
