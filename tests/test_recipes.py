"""The recipes "Add a setting" and "Add a data set" of ``docs/architecture.md``, followed literally.

A throwaway setting is one ``Setting`` added to ``settings.SETTINGS`` and a throwaway curve one
``Curve`` added to ``curves.CURVES``, both before anything else of the package is imported: in
a ``sitecustomize`` module on the path of a fresh process, so the training processes that the
page starts have them too. Nothing else is edited. The setting then has its command-line flag,
its checks and their messages, its place in a link, in a run file and in the sidebar (lecture
mode can hide it); the curve trains from the command line, from a link and from the page, and
the page shows its label and its lesson.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

pytestmark = pytest.mark.process

SITE = """
from playground import curves

curves.CURVES["cubic"] = curves.Curve(
    "cubic", "cubic: y = x³/10", lambda x: x**3 / 10, "A throwaway curve: two bends, and no kink."
)

from playground import settings

settings.SETTINGS = (
    *settings.SETTINGS,
    settings.Setting("warmth", float, 0.5, "a throwaway setting", 0.0, 1.0, label="Warmth", step=0.05),
)
"""

CHILD = """
import contextlib, io, json, os, time

from streamlit.testing.v1 import AppTest

from playground import cli, links
from playground.config import CURVE_DATA, LINK_SETTINGS, Config
from playground.export import load_run

result = {"curve_data": list(CURVE_DATA), "link_settings": list(LINK_SETTINGS), "hideable": list(links.HIDEABLE)}

# The command line: the flag, a bad value's message, a run saved and replayed.
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    result["cli_bad"] = cli.main(["train", "--warmth", "2"])
    result["cli_code"] = cli.main(
        ["train", "--style", "module", "--data", "cubic", "--warmth", "0.25", "--steps", "40", "--save", "run.json"]
    )
result["cli_err"] = err.getvalue()
run = load_run(open("run.json").read())
result["file"] = run.config.to_dict()
result["losses"] = run.history["loss"]

# A link: read, clamped, written back.
cfg, warnings = links.from_query({"data": "cubic", "warmth": "7"}, ["cpu"])
result["link"] = {"config": cfg.to_dict(), "warnings": warnings, "query": links.to_query(cfg)}

# The page: a link with both, the sidebar's widget, a step in a training process.
app = AppTest.from_file(os.environ["PAGE"], default_timeout=120)
app.query_params.update({"style": "tensor", "data": "cubic", "warmth": "0.75"})
app.run()
result["page_exception"] = [str(e.value) for e in app.exception]
result["slider"] = [(s.label, s.value) for s in app.sidebar.slider if s.key == "warmth"]
result["data_options"] = list(app.selectbox(key="data").options)
app.button(key="step_button").click().run()
deadline = time.monotonic() + 120
while time.monotonic() < deadline and app.session_state["client"].view.state.steps_done < 1:
    time.sleep(0.2)
    app.run()
view = app.session_state["client"].view
result["page_run"] = {"steps": view.state.steps_done, "error": view.error, "config": view.config.to_dict()}
result["page_text"] = "\\n".join(str(e.value) for e in (*app.markdown, *app.caption))
app.session_state["client"].close()
print(json.dumps(result))
"""


def test_a_setting_and_a_data_set_are_one_entry_each(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITE), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "PAGE": str(ROOT / "page.py"),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])

    # The setting: a flag whose bad value is named with its range; a field of every config.
    assert result["cli_bad"] == 2
    assert "warmth: 2 is out of range; allowed 0 to 1" in result["cli_err"]
    assert "warmth" in result["link_settings"] and "warmth" in result["hideable"]
    assert result["file"]["warmth"] == 0.25

    # The data set: a curve, with a curve's sizes; it trains from the command line.
    assert "cubic" in result["curve_data"]
    assert result["cli_code"] == 0
    assert (result["file"]["data"], result["file"]["d_in"], result["file"]["d_out"]) == ("cubic", 1, 1)
    losses = result["losses"]
    assert len(losses) == 40 and losses[-1] < losses[0]

    # A link carries both; an out-of-range value is clamped, with a warning naming the field.
    link = result["link"]
    assert link["config"]["warmth"] == 1.0 and link["config"]["data"] == "cubic"
    assert any(w.startswith("warmth: 7 is out of range") for w in link["warnings"])
    assert link["query"]["warmth"] == "1" and link["query"]["data"] == "cubic"

    # The page: the setting's widget with the link's value, the curve among the data, a step taken
    # in a training process with both, and the curve's label and lesson on the page.
    assert result["page_exception"] == []
    assert result["slider"] == [["Warmth", 0.75]]
    assert "cubic: y = x³/10" in result["data_options"]  # its label
    run = result["page_run"]
    assert run["error"] == "" and run["steps"] >= 1
    assert (run["config"]["warmth"], run["config"]["data"]) == (0.75, "cubic")
    assert "A throwaway curve: two bends, and no kink." in result["page_text"]
