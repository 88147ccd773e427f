"""requirements.txt gives Linux hosts torch's CPU build, and the install script keeps it fast here.

On Linux, PyPI's torch is the CUDA build (with ~19 nvidia, cuda and triton packages, 4.7 GB);
Streamlit Community Cloud installs requirements.txt with uv, falling back to pip. No network:
these tests read the files and run scripts/pip-install.sh against a stand-in for pip.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from playground.config import Limits

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH = Version("2.13.0")

# Marker environments: Community Cloud (Linux x86_64), Linux on ARM, and the desktops.
LINUX = {
    "linux-x86_64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
}
ELSEWHERE = {
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    "windows-amd64": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
}


def read_requirements(path: Path) -> tuple[list[list[str]], list[Requirement]]:
    """The option lines (split into words) and the requirements of a pip requirements file."""
    options, requirements = [], []
    for raw in path.read_text().splitlines():
        line = re.sub(r"(^|\s)#.*", "", raw).strip()  # pip's comment rule
        if not line:
            continue
        if line.startswith("-"):
            options.append(line.replace("=", " ", 1).split() if line.startswith("--") else line.split())
        else:
            requirements.append(Requirement(line))
    return options, requirements


def torch_for(environment: dict[str, str]) -> list[Requirement]:
    """The torch requirements of requirements.txt that apply in an environment."""
    _, requirements = read_requirements(ROOT / "requirements.txt")
    return [
        req for req in requirements if req.name == "torch" and (req.marker is None or req.marker.evaluate(environment))
    ]


def test_the_cpu_index_is_an_extra_index_and_the_only_one():
    """--extra-index-url keeps PyPI for everything else (--index-url would replace it)."""
    options, _ = read_requirements(ROOT / "requirements.txt")
    assert options == [["--extra-index-url", CPU_INDEX]]
    dev_options, _ = read_requirements(ROOT / "requirements-dev.txt")
    assert dev_options == [["-r", "requirements.txt"]]


@pytest.mark.parametrize("environment", LINUX.values(), ids=LINUX.keys())
def test_linux_gets_the_pinned_cpu_build(environment):
    (torch,) = torch_for(environment)
    assert torch.url is None
    assert str(torch.specifier) == f"=={TORCH}+cpu"
    assert torch.specifier.contains(f"{TORCH}+cpu")
    # PyPI's wheel for Linux (2.13.0, no local label) is the CUDA build: it must not match.
    assert not torch.specifier.contains(str(TORCH))
    assert not torch.specifier.contains(f"{TORCH}+cu130")


@pytest.mark.parametrize("environment", ELSEWHERE.values(), ids=ELSEWHERE.keys())
def test_other_systems_get_the_same_release(environment):
    """PyPI's torch for macOS and Windows has no CUDA; the CPU index's Windows wheel is +cpu."""
    (torch,) = torch_for(environment)
    assert str(torch.specifier) == f"=={TORCH}"
    assert torch.specifier.contains(str(TORCH)) and torch.specifier.contains(f"{TORCH}+cpu")


def test_the_pin_is_the_torch_installed_here():
    installed = Version(importlib.metadata.version("torch"))
    assert installed.public == str(TORCH), f"requirements.txt pins {TORCH}, this environment has {installed}"


# scripts/pip-install.sh, run with a stand-in for Python that records what pip was asked.
FAKE_PYTHON = """#!/bin/sh
echo "CALL $*" >> "$LOG"
case "$*" in *--dry-run*) exit "$PROBE_RC" ;; esac
previous=
for arg in "$@"; do
	if [ "$previous" = -r ]; then
		echo "FILE $arg" >> "$LOG"
		cat "$arg" "$(dirname "$arg")/requirements.txt" >> "$LOG"
	fi
	previous=$arg
done
"""


def run_install_script(tmp_path: Path, probe_rc: int) -> tuple[str, Path]:
    if shutil.which("sh") is None:
        pytest.skip("no sh")
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("requirements.txt", "requirements-dev.txt", "scripts/pip-install.sh"):
        shutil.copy(ROOT / name, project / name)
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "LOG": str(log), "PROBE_RC": str(probe_rc)}
    done = subprocess.run(
        ["sh", "scripts/pip-install.sh", str(fake), "requirements-dev.txt", "--quiet"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text(), project


@pytest.mark.process
def test_where_pip_holds_the_cpu_build_the_index_is_left_out(tmp_path):
    """This project's machines cannot reach download.pytorch.org: pip would retry it for minutes."""
    log, project = run_install_script(tmp_path, probe_rc=0)
    calls = [line for line in log.splitlines() if line.startswith("CALL ")]
    assert len(calls) == 2
    assert "--dry-run" in calls[0] and f"torch=={TORCH}+cpu" in calls[0].split()
    assert "--quiet" in calls[1].split() and "-r" in calls[1].split()
    installed_from = log.split("FILE ", 1)[1].splitlines()[0]
    assert Path(installed_from).parent != project, "installed from the copy"
    assert not Path(installed_from).exists(), "the copy is removed afterwards"
    assert CPU_INDEX not in log
    assert f"torch=={TORCH}+cpu" in log and "-r requirements.txt" in log


@pytest.mark.process
def test_elsewhere_requirements_are_installed_as_they_are(tmp_path):
    log, project = run_install_script(tmp_path, probe_rc=1)
    installed_from = log.split("FILE ", 1)[1].splitlines()[0]
    assert installed_from == "requirements-dev.txt"
    assert f"--extra-index-url {CPU_INDEX}" in log


def test_the_image_installs_requirements_txt_and_documents_the_app_defaults():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "scripts/pip-install.sh" in dockerfile and "requirements.txt" in dockerfile
    defaults = Limits()
    assert defaults.max_concurrent_runs is None and "PLAYGROUND_MAX_CONCURRENT_RUNS=" not in dockerfile
    assert f"PLAYGROUND_MAX_RUN_MB={defaults.max_run_mb:g}" in dockerfile
    assert f"PLAYGROUND_MEMORY_MB={defaults.memory_mb:g}" in dockerfile


def test_the_server_config_turns_off_the_garbage_collection_after_each_script_run():
    """The repository's .streamlit/config.toml (read by `streamlit run`, Community Cloud and the
    image alike) turns off Streamlit's gc.collect(2) after every script and fragment run: with a
    lecture's pages open it took 42% of the server's time."""
    import tomllib

    from streamlit import config

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["runner"]["postScriptGC"] is False
    assert "runner.postScriptGC" in config._config_options_template  # the option still exists
