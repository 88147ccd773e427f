"""A hall of two replicas behind HAProxy, with deploy/hall/haproxy.cfg, and one replica killed
mid-lecture: its visitors are told their run is gone and train again on the other, whose own
visitors keep training without a longer pause than before.

The replicas are two `streamlit run` servers here (no containers), and HAProxy is Debian's: the
configuration is the hall's, its DNS-found servers replaced by the two local ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from conftest import ROOT, _browser_or_skip, step, wait_until

from playground import testing

pytestmark = pytest.mark.browser

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
LINK = "/?steps=1000000&speed=20"  # slow motion: four pages train on two cores with room to spare
PAGES = 4
WINDOW_S = 6.0  # how long the pauses are watched, before the kill and after


def hall_config(port: int, stats: int, replicas: list[int]) -> str:
    """deploy/hall/haproxy.cfg, listening here, with these replicas in place of those DNS finds."""
    text = (ROOT / "deploy" / "hall" / "haproxy.cfg").read_text()
    text = re.sub(r"\nresolvers hall\n(    .*\n)+", "\n", text)
    text = text.replace(" resolvers hall init-addr none resolve-prefer ipv4", "")
    text = text.replace("bind :8080", f"bind 127.0.0.1:{port}").replace("bind :8404", f"bind 127.0.0.1:{stats}")
    servers = "".join(f"    server app{i} 127.0.0.1:{p}\n" for i, p in enumerate(replicas, 1))
    return re.sub(r"    server-template .*\n", servers, text)


@pytest.fixture
def hall(tmp_path):
    _browser_or_skip()
    if not os.path.exists(HAPROXY):
        if os.environ.get("CI"):
            pytest.fail("CI must run the hall test: no haproxy (apt-get install haproxy)")
        pytest.skip("no haproxy (apt-get install haproxy)")
    ports = [testing.free_port() for _ in range(2)]
    logs = [open(tmp_path / f"replica-{i}.log", "w") for i in (1, 2)]  # noqa: SIM115 - closed below
    replicas = [testing.launch_streamlit(port, log)[0] for port, log in zip(ports, logs, strict=True)]
    port, stats = testing.free_port(), testing.free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(hall_config(port, stats, ports))
    proxy = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(config)], stdout=open(tmp_path / "haproxy.log", "w"), stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    assert testing.wait_healthy(url, proxy, timeout=20), (tmp_path / "haproxy.log").read_text()
    try:
        yield url, replicas
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        for replica in replicas:
            testing.stop(replica)
        for log in logs:
            log.close()


def longest_pause(pages, seconds: float) -> float:
    """The longest any of ``pages`` showed the same Step while training, over ``seconds``."""
    last = {id(p): (step(p), time.monotonic()) for p in pages}
    longest, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        for p in pages:
            now, (before, since) = time.monotonic(), last[id(p)]
            shown = step(p)
            if shown != before:
                last[id(p)] = (shown, now)
            longest = max(longest, now - since)
        time.sleep(0.05)
    return longest


def test_a_replica_killed_mid_lecture(browser, hall):
    url, replicas = hall
    contexts, pages, replica_of = [], [], {}
    for _ in range(PAGES):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        answer = page.goto(url + LINK)
        replica_of[id(page)] = answer.headers["x-replica"]  # HAProxy names the replica that answered
        contexts.append(context)
        pages.append(page)
    assert sorted(replica_of.values()) == ["app1", "app1", "app2", "app2"], "round robin, one page each in turn"
    for page in pages:
        page.locator(".st-key-train_button button:visible").first.click()
    for page in pages:
        wait_until(lambda p=page: step(p) > 10, 30, "a page did not train")
    # Every request of a page went to its replica: its cookie holds it there.
    for page in pages:
        assert page.evaluate("fetch('/_stcore/health').then(r => r.headers.get('x-replica'))") == replica_of[id(page)]

    doomed = [p for p in pages if replica_of[id(p)] == "app1"]
    kept = [p for p in pages if replica_of[id(p)] == "app2"]
    before = longest_pause(kept, WINDOW_S)
    os.killpg(replicas[0].pid, signal.SIGKILL)  # app1 and its training processes, at once
    after = longest_pause(kept, WINDOW_S)
    assert after <= before + 1.0, f"app2's pages paused {after:.2f} s after the kill, {before:.2f} s before"

    for page in doomed:
        page.get_by_text("The run this tab showed is gone").wait_for(timeout=60_000)
        assert step(page) == 0
        page.locator(".st-key-train_button button:visible").first.click()
        wait_until(lambda p=page: step(p) > 10, 30, "Train did not work on the other replica")
        assert page.evaluate("fetch('/_stcore/health').then(r => r.headers.get('x-replica'))") == "app2"
    print(f"longest pause of app2's pages: {before:.2f} s before the kill, {after:.2f} s after")
    for context in contexts:
        context.close()
