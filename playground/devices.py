"""Which devices exist on this machine, and turning a device name into a torch.device."""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import platform
import sys
from pathlib import Path

from .config import ConfigError

# torch is imported inside the functions: the app's server process never imports it. It asks
# a process of its own (``server/launch.probe_devices``), unless torch's build record answers already
# (``known_without_torch``).

CPU_ONLY = "CUDA is absent: this PyTorch is a CPU-only build."
#: Set to 1, the app's server asks a worker process even where torch's build record answers
#: (what a machine with a GPU build of torch does; the browser tests use it to check that path).
ASK_TORCH = "PLAYGROUND_ASK_TORCH_FOR_DEVICES"


def torch_build(version_file: Path | None = None) -> dict[str, object] | None:
    """The names ``torch/version.py`` assigns (``cuda``, ``hip``, ...), read without importing
    torch; None when it cannot be read. The wheel's build writes that file: ``cuda`` is None in
    a CPU-only build, the CUDA version otherwise; ``hip`` likewise for ROCm."""
    try:
        if version_file is None:
            spec = importlib.util.find_spec("torch")  # finds the package without importing it
            if spec is None or not spec.submodule_search_locations:
                return None
            version_file = Path(spec.submodule_search_locations[0]) / "version.py"
        tree = ast.parse(version_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, ImportError):
        return None
    build: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    build[target.id] = ast.literal_eval(node.value)
                except ValueError:  # not a literal
                    pass
    return build


def known_without_torch(version_file: Path | None = None) -> tuple[list[str], str] | None:
    """What ``available()`` and ``why_no_cuda()`` say, where that is certain without importing
    torch (seconds of CPU): a build with neither CUDA nor ROCm (this project's Linux build, from
    PyTorch's CPU index) on a system without Apple's MPS. None: only torch can say."""
    if os.environ.get(ASK_TORCH) == "1" or sys.platform == "darwin":
        return None
    build = torch_build(version_file)
    if build is None or "cuda" not in build or build["cuda"] is not None or build.get("hip") is not None:
        return None
    return ["cpu"], CPU_ONLY


def available() -> list[str]:
    """Device names that can train here; "cpu" always comes first."""
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
        names += [f"cuda:{i}" for i in range(1, torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        names.append("mps")
    return names


def why_no_cuda() -> str:
    """One line for the app: why CUDA is not offered."""
    import torch

    if torch.cuda.is_available():
        return ""
    if torch.version.cuda is None:
        return CPU_ONLY
    return "CUDA is absent: PyTorch has CUDA support but finds no GPU on this machine."


def resolve(name: str):
    """A ``torch.device`` for ``name``, or a ConfigError saying what exists instead."""
    import torch

    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        index = int(name[5:]) if ":" in name else 0
        if not torch.cuda.is_available():
            raise ConfigError(
                "device",
                f"{name!r} is not available here. {why_no_cuda()} Available: {', '.join(available())}",
            )
        if index >= torch.cuda.device_count():
            raise ConfigError("device", f"{name!r} does not exist; available: {', '.join(available())}")
        return torch.device("cuda", index)
    if name == "mps" and "mps" in available():
        return torch.device("mps")
    raise ConfigError("device", f"{name!r} is not available here; available: {', '.join(available())}")


@functools.cache
def cpu() -> str:
    """This machine's CPU as a run file records it: its model, and the kernel NumPy's BLAS chose
    for it ("AMD EPYC; OpenBLAS Haswell"). Two CPUs that differ here may sum in another order, so a
    float result can differ in its last bits (``export.replay_verdict``)."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    from .threads import blas_kernels

    kernels = blas_kernels()
    return f"{model}; {kernels}" if kernels else model
