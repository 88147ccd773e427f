"""The optimizers the playground offers, by the names the CLI and the app use."""

from __future__ import annotations

import torch

from .config import Config


def make_optimizer(cfg: Config, params) -> torch.optim.Optimizer:
    """``torch.optim.<Name>(params, lr=cfg.lr, ...)`` for ``cfg.optimizer``."""
    lr = cfg.lr
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)
    if cfg.optimizer == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, nesterov=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(f"optimizer: unknown {cfg.optimizer!r}")
