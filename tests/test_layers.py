"""The house's shape, as ``docs/architecture.md`` promises it: imports go down, never up; the
app's server never imports torch; no function is longer than a screen."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

PACKAGE = ROOT / "playground"
LONGEST = 60  # lines of one function, its signature and docstring included


def _imports(path) -> set[str]:
    """The modules a file of the package imports, as absolute names (``playground.server.pool``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _layer(path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if relative[0] in ("ui", "server") else "engine"


def test_imports_go_down_never_up():
    """The engine imports neither Streamlit nor the server nor the page; the server not the page."""
    for path in PACKAGE.rglob("*.py"):
        layer, imports = _layer(path), _imports(path)
        if path.name == "testing.py":  # the tests' helper: a server and a browser
            continue
        if layer in ("engine", "server"):
            assert not any(m.startswith("playground.ui") or m.startswith("streamlit") for m in imports), path
        if layer == "engine":
            assert not any(m.startswith("playground.server") for m in imports), path


def test_the_page_never_imports_the_training_processes_loop():
    for path in (PACKAGE / "ui").rglob("*.py"):
        assert not any(m.startswith("playground.server.worker") for m in _imports(path)), path


def test_no_function_is_over_a_screen_long():
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > LONGEST:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not long, long


# Everything the app's server process imports: the page's modules, the pool, what the page draws
# (a step's graph, its maths, the exports) and the app itself.
SERVER_SIDE = """
import importlib, json, pkgutil, sys
import playground.ui, playground.server
names = ["playground." + m.name for m in pkgutil.walk_packages(playground.ui.__path__, "ui.")]
names += ["playground.server.pool", "playground.server.protocol", "playground.server.launch",
          "playground.inspection.graph", "playground.inspection.maths", "playground.export", "playground.links"]
for name in names:
    importlib.import_module(name)
import app
print(json.dumps({"imported": names, "torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
"""


@pytest.mark.process
def test_the_apps_server_never_imports_torch():
    """Only the training processes import torch: the server reads a style's source as text, draws a
    curve's points with NumPy, and asks a process which devices exist (docs/architecture.md)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SERVER_SIDE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert "playground.ui.page" in result["imported"]
    assert result["torch"] == []
