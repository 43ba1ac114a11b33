"""Optimiser and learning-rate schedule from config (torch's own classes)."""

from __future__ import annotations

import torch

from seq2seq.config import TrainConfig


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class Schedule:
    """torch's schedulers behind one interface: after_step() and after_validation(bleu)."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> None:
        self.kind = cfg.schedule
        if cfg.schedule == "plateau":
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer,
                mode="max",
                factor=cfg.plateau_factor,
                patience=cfg.plateau_patience,
                min_lr=cfg.min_lr,
            )
        elif cfg.schedule == "inverse_sqrt":
            warmup = cfg.warmup_steps
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: min((step + 1) / warmup, (warmup / (step + 1)) ** 0.5)
            )
        else:
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def after_step(self) -> None:
        if self.kind != "plateau":
            self.scheduler.step()

    def after_validation(self, bleu: float) -> None:
        if self.kind == "plateau":
            self.scheduler.step(bleu)

    def state_dict(self) -> dict:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)
