"""The command line, run as users run it: ``python -m playground`` in a fresh process.

Every process that trains imports torch (seconds), so those runs are few and short.
Bad input is refused before torch is imported, so those cases are cheap.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from playground.config import STYLES, Config
from playground.trainer import Trainer

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.process]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def json_rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *words: str) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_train_prints_the_tutorials_lines():
    result = cli("train", "--style", "tensor")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["99", "199", "299", "399", "499"]
    losses = [float(line.split()[1]) for line in lines]
    assert all(re.fullmatch(r"\d+ \S+", line) for line in lines)
    assert losses == sorted(losses, reverse=True) and losses[-1] < 1e-2


# One short run with flags; the --config tests replay it from files.
FLAGS = ("--style", "module", "--steps", "3", "--seed", "5", "--lr", "2e-4")
SETTINGS = {"style": "module", "steps": 3, "seed": 5, "lr": 2e-4}


@pytest.fixture(scope="module")
def flags_run() -> subprocess.CompletedProcess:
    return cli("train", *FLAGS, "--json")


def test_json_prints_one_object_per_step(flags_run):
    assert flags_run.returncode == 0, flags_run.stderr
    rows = json_rows(flags_run.stdout)
    assert [row["step"] for row in rows] == [0, 1, 2]
    # The same numbers as the engine gives in this process (float32: if the two processes
    # use different torch thread counts, the last bits may differ).
    trainer = Trainer(Config.from_dict(SETTINGS))
    expected = [trainer.step()["loss"] for _ in range(3)]
    assert [row["loss"] for row in rows] == pytest.approx(expected, rel=1e-6)
    assert "linear1.weight.grad_norm" in rows[0]  # statistics at step 0 (stats_every=20)


def test_config_file_replays_the_flags(flags_run, tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(SETTINGS))
    result = cli("train", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json_rows(result.stdout) == json_rows(flags_run.stdout)


def test_exported_run_replays_and_flags_override_it(flags_run, tmp_path):
    exported = {"config": Config.from_dict(SETTINGS).to_dict(), "history": {"step": [0, 1, 2]}}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(exported))
    result = cli("train", "--config", str(path), "--json", "--steps", "2")
    assert result.returncode == 0, result.stderr
    assert json_rows(result.stdout) == json_rows(flags_run.stdout)[:2]


BAD_INPUT = [
    (["train", "--lr", "5"], ["lr", "1e-10 to 1"]),
    (["train", "--lr", "nan"], ["lr", "1e-10 to 1"]),
    (["train", "--n", "abc"], ["n", "abc", "1 to 4096"]),
    (["train", "--style", "nope"], ["style", "nope", "numpy"]),
    (["train", "--device", "cuda"], ["device", "numpy"]),
    (["train", "--style", "numpy", "--optimizer", "adam"], ["optimizer", "adam"]),
    (["train", "--bogus"], ["--bogus"]),
    (["train", "--steps"], ["--steps"]),
    ([], ["command"]),
    (["fly"], ["fly"]),
]


@pytest.mark.parametrize(
    "args, words", [pytest.param(args, words, id=" ".join(args) or "no command") for args, words in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_line(args, words):
    result = cli(*args)
    line = assert_one_line_error(result, 2, *words)
    assert line.startswith("python -m playground: error: ")
    assert result.stdout == ""


def test_broken_config_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"style": "module", "lr": }')
    assert_one_line_error(cli("train", "--config", str(broken)), 2, "broken.json", "not valid JSON")

    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    assert_one_line_error(cli("train", "--config", str(listing)), 2, "JSON object")

    bad_value = tmp_path / "bad.json"
    bad_value.write_text(json.dumps({"config": {"style": "module", "hidden": 0}, "history": {}}))
    assert_one_line_error(cli("train", "--config", str(bad_value)), 2, "hidden", "1 to 4096")

    assert_one_line_error(cli("train", "--config", str(tmp_path / "absent.json")), 2, "absent.json")


def test_diverging_run_exits_1():
    result = cli("train", "--style", "numpy", "--lr", "1")
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert re.search(r"at step \d+: training diverged", last) and "smaller" in last
    # Nothing else on stderr: no RuntimeWarning from NumPy's overflow.
    assert_one_line_error(result, 1)


def test_styles_lists_all_eight():
    result = cli("styles")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == list(STYLES)


@pytest.mark.parametrize(("name", "value"), [("PLAYGROUND_MAX_CONCURRENT_RUNS", "abc"), ("PLAYGROUND_MAX_RUN_MB", "0")])
def test_a_bad_server_setting_is_named(name, value):
    import os

    env = {**os.environ, name: value}
    result = subprocess.run(
        [sys.executable, "-m", "playground", "styles"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
    )
    assert_one_line_error(result, 2, name)
