"""Several runs on the same seed and data, side by side: the presets and the run list.

Every run of a comparison shares the seed and the data setting (so the same x, y and
starting weights); what differs is what the learner chose to compare. "CPU vs GPU" is
offered only where a GPU exists (``presets``).
"""

from __future__ import annotations

from itertools import product

from .config import OPTIMIZER_LABELS as LABELS
from .config import STYLES, Config, ConfigError, repair
from .styles import MISTAKES

MAX_RUNS = 8

PRESETS = {
    "tutorial": "The tutorial, cell by cell",
    "optimizers": "Optimizer race",
    "lr": "Learning-rate sweep",
    "mistakes": "Each classic mistake against its correct cell",
    "gpu": "CPU vs GPU",
}
GPU_PRESETS = ("gpu",)  # offered only where a GPU exists

RACE = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")
SWEEP = (0.1, 0.3, 1, 3, 10)  # times module's learning rate for the data: 1e-5 ... 1e-3 on random data

#: CPU vs GPU: Adam (optim) on the tutorial's random data at sizes where a step is a few hundred
#: MFLOP, large enough for a GPU to pull ahead, and at most this many steps.
GPU_SIZES = {"n": 256, "d_in": 1024, "hidden": 1024, "d_out": 128}
GPU_STEPS = 200


def presets(devices: list[str]) -> list[str]:
    """The presets to offer on a machine with ``devices``: CPU vs GPU only where there is a GPU."""
    return [name for name in PRESETS if name not in GPU_PRESETS or any(d.startswith("cuda") for d in devices)]


def preset(name: str, seed: int = 0, steps: int = 500, data: str = "random") -> list[tuple[str, Config]]:
    """The runs of a preset, as (label, config), on data ``data``."""
    if name == "tutorial":
        # Each cell with its tutorial defaults: the four bias-free styles draw one curve.
        return [(style, Config.for_style(style, seed=seed, steps=steps, data=data)) for style in STYLES]
    if name == "optimizers":
        return [(LABELS[o], Config.for_style("module", optimizer=o, seed=seed, steps=steps, data=data)) for o in RACE]
    if name == "lr":
        base = Config.for_style("module", data=data).lr
        rates = [float(f"{base * factor:.1g}") for factor in SWEEP]
        return [(f"lr {lr:g}", Config.for_style("module", lr=lr, seed=seed, steps=steps, data=data)) for lr in rates]
    if name == "mistakes":  # each mistake in its first style, beside that style written correctly
        pairs = [(next(iter(m.variants)), m.name) for m in MISTAKES.values()]
        runs = {}
        for style, mistake in pairs:
            runs.setdefault((style, "none"), Config.for_style(style, seed=seed, steps=steps, data=data))
            runs[(style, mistake)] = Config.for_style(style, mistake=mistake, seed=seed, steps=steps, data=data)
        return [(style if mistake == "none" else f"{style}, {mistake}", cfg) for (style, mistake), cfg in runs.items()]
    if name == "gpu":
        steps = min(steps, GPU_STEPS)
        return [
            (label, Config.for_style("optim", device=device, seed=seed, steps=steps, **GPU_SIZES))
            for label, device in (("CPU", "cpu"), ("GPU (cuda)", "cuda"))
        ]
    raise ConfigError("preset", f"{name!r} is not a preset; choose {', '.join(PRESETS)}")


def custom(base: Config, styles: list[str], optimizers: list[str], lrs: list[float]) -> list[tuple[str, Config]]:
    """Every combination of the chosen styles, optimizers and learning rates, on ``base``'s sizes and seed.

    An optimizer applies only to the styles that use torch.optim; the others run once per learning rate.
    """
    runs: dict[tuple, tuple[str, Config]] = {}
    for style, optimizer, lr in product(styles or [base.style], optimizers or [base.optimizer], lrs or [base.lr]):
        values, _ = repair({**base.to_dict(), "style": style, "optimizer": optimizer, "lr": lr})
        cfg = Config.from_dict(values)
        label = f"{style}" + (f" {LABELS[cfg.optimizer]}" if cfg.uses_optimizer else "") + f" lr {lr:g}"
        runs[(style, cfg.optimizer, lr)] = (label, cfg)
    if len(runs) > MAX_RUNS:
        raise ConfigError("compare", f"{len(runs)} runs chosen; allowed 1 to {MAX_RUNS}: choose fewer")
    return list(runs.values())
