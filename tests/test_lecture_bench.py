"""Smoke test of the lecture load test (benchmarks/lecture.py): two protocol visitors, no Chromium page.

Marked ``browser`` like the other tests that start a real `streamlit run`; it skips where those
skip (no Chromium), except in CI.
"""

from __future__ import annotations

import math

import pytest
from conftest import _browser_or_skip

pytestmark = pytest.mark.browser


def test_two_protocol_visitors_train_to_the_end(capsys):
    _browser_or_skip()
    from benchmarks import lecture

    argv = ["--visitors", "2", "--no-browser", "--spread", "1", "--idle", "2", "--deadline", "60"]
    (result,) = lecture.main(argv)
    assert result.browser is None and len(result.pages) == 2
    assert result.lecturer is not None and result.lecturer.finished is not None, result.lecturer
    for page in result.pages:
        assert not page.errors, page
        assert not page.refused, page
        assert page.ready is not None and page.pressed is not None, page
        assert page.first_step is not None and page.first_step > page.pressed, page
        assert page.finished is not None and page.finished >= page.first_step, page
        assert page.step == "500" and float(page.loss) < 1e-2, page
    assert result.peak_pss_mb > 100 and result.peak_processes >= 3  # server, fork server, workers
    assert not math.isnan(result.server_cpu) and not math.isnan(result.training_cpu)
    table = capsys.readouterr().out
    assert "| 2 | " in table and "2/2 | 0 | 0 | 0 |" in table
