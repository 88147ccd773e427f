"""Several runs on the same seed and data, side by side: the presets and the run list.

Every run of a comparison shares the seed (so the same x, y and starting
weights); what differs is what the learner chose to compare.
"""

from __future__ import annotations

from itertools import product

from .config import OPTIMIZER_LABELS as LABELS
from .config import STYLES, Config, ConfigError, repair

MAX_RUNS = 8

PRESETS = {
    "tutorial": "The tutorial, cell by cell",
    "optimizers": "Optimizer race",
    "lr": "Learning-rate sweep",
}

RACE = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")
SWEEP = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3)


def preset(name: str, seed: int = 0, steps: int = 500) -> list[tuple[str, Config]]:
    """The runs of a preset, as (label, config)."""
    if name == "tutorial":
        # Each cell with its tutorial defaults: the four bias-free styles draw one curve.
        return [(style, Config.for_style(style, seed=seed, steps=steps)) for style in STYLES]
    if name == "optimizers":
        return [(LABELS[o], Config.for_style("module", optimizer=o, seed=seed, steps=steps)) for o in RACE]
    if name == "lr":
        return [(f"lr {lr:g}", Config.for_style("module", lr=lr, seed=seed, steps=steps)) for lr in SWEEP]
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
