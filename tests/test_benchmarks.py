"""Smoke tests of the engine benchmarks: they run, and print their tables (tiny runs)."""

from __future__ import annotations

import re

import pytest
from conftest import _browser_or_skip

pytestmark = pytest.mark.process


def rows(table: str) -> list[list[str]]:
    """The body rows of every Markdown table in ``table`` (not the headers)."""
    lines = table.splitlines()
    body = [
        line
        for line, below in zip(lines, [*lines[1:], ""], strict=True)
        if re.match(r"\| \w", line) and not below.startswith("|---")
    ]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in body]


def test_engine_overhead_sweeps_sizes_at_equal_threads(capsys):
    from benchmarks import engine_overhead

    engine_overhead.main(["--size", "tiny", "--repeats", "1", "--style", "numpy", "module"])
    (numpy_row, module_row, numpy_parts, module_parts) = rows(capsys.readouterr().out)
    assert numpy_row[:2] == ["tiny (8/20/12/3)", "numpy"] and module_row[1] == "module"
    for row in (numpy_row, module_row):
        bare, engine, ratio = float(row[4]), float(row[5]), float(row[6].rstrip("x"))
        assert bare > 0 and engine > 0 and ratio == pytest.approx(engine / bare, rel=0.05)
    assert numpy_parts[:2] == ["tiny", "numpy"] and module_parts[:2] == ["tiny", "module"]
    for row in (numpy_parts, module_parts):  # the weights' copy, statistics, histograms, their share
        for cell in row[2:5]:  # timed alone / in a run
            alone, in_a_run = (float(v) for v in cell.split(" / "))
            assert alone > 0 and in_a_run > 0
        assert row[5].endswith("%") and row[7].endswith("%")
        float(row[6])  # all told in a run, in microseconds (noise can take it below zero at this size)


def test_cli_vs_script_times_both_in_fresh_processes(capsys):
    from benchmarks import cli_vs_script

    cli_vs_script.main(["--size", "tutorial", "--repeats", "1", "--style", "tensor", "--steps", "50"])
    ((size, style, steps, script, cli, best, median),) = rows(capsys.readouterr().out)
    assert (size, style, steps) == ("tutorial (64/1000/100/10)", "tensor", "50")
    assert float(script) > 0 and float(cli) > 0
    assert float(best.rstrip("x")) == pytest.approx(float(cli) / float(script), rel=0.05)
    assert median.endswith("x")


@pytest.mark.browser
def test_first_seconds_measures_start_up_and_a_first_train(capsys):
    _browser_or_skip()
    from benchmarks import first_seconds

    first_seconds.main(["--repeats", "1"])
    out = capsys.readouterr().out
    assert "round 1: two-line page" in out
    figures = {row[0]: row[1].split()[0].rstrip("x") for row in rows(out)}
    assert 0 < float(figures["two-line page: start to Train button painted"]) < 60
    assert 0 < float(figures["playground: start to Train button seen by Playwright"]) < 60
    assert 0 < float(figures["Train pressed at once: first step shown"])
    # Not finished >= first: the status can show "Finished" a moment before the Step metric moves.
    assert 0 < float(figures["Train pressed at once: 500 steps shown finished"])
    assert 0 < float(figures["Train pressed at once: start to first step shown"]) < 120
