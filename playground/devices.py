"""Which devices exist on this machine, and turning a device name into a torch.device."""

from __future__ import annotations

from .config import ConfigError

# torch is imported inside the functions: the app's server process never imports it
# (it asks a worker process, see ``worker.probe_devices``).


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
        return "CUDA is absent: this PyTorch is a CPU-only build."
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
