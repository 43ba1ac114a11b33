"""Checkpoint averaging: the element-wise mean of several checkpoints' weights, as one
checkpoint that evaluation and translation load like any other."""

from __future__ import annotations

from pathlib import Path

import torch

from seq2seq import checkpoint as ckpt
from seq2seq.errors import UserError


def numbered(run: Path) -> list[Path]:
    """A run's step_N.pt checkpoints, oldest first."""
    return sorted((run / ckpt.CHECKPOINT_DIR).glob("step_*.pt"))


def average(paths: list[Path]) -> ckpt.Checkpoint:
    """A checkpoint whose weights are the mean of those in paths (config and tokenizer from the
    last); integer tensors, if any, are taken from the last."""
    if not paths:
        raise UserError("no checkpoints to average (train with train.save_every=N to keep some)")
    loaded = [ckpt.load(p) for p in paths]
    last = loaded[-1].weights
    for checkpoint in loaded:
        if checkpoint.weights.keys() != last.keys() or any(
            checkpoint.weights[k].shape != v.shape for k, v in last.items()
        ):
            raise UserError(f"{checkpoint.path}: a checkpoint of another architecture than "
                            f"{paths[-1]}")
    weights = {}
    for key, value in last.items():
        if value.is_floating_point():
            stacked = torch.stack([c.weights[key].double() for c in loaded])
            weights[key] = stacked.mean(dim=0).to(value.dtype)
        else:
            weights[key] = value.clone()
    return ckpt.Checkpoint(path=paths[-1], config=loaded[-1].config,
                           tokenizer=loaded[-1].tokenizer, weights=weights,
                           averaged_from=[str(p) for p in paths])


def average_run(run: Path, last_n: int, output: Path | None = None) -> Path:
    """Average the last_n numbered checkpoints of a run into output (checkpoints/averaged.pt)."""
    if not run.is_dir():
        raise UserError(f"{run}: no such run directory")
    paths = numbered(run)[-last_n:]
    if len(paths) < last_n:
        raise UserError(f"{run}: has {len(paths)} step_N.pt checkpoints, fewer than --last "
                        f"{last_n} (a run keeps them with train.save_every=N, the last "
                        "train.keep_last of them)")
    output = output or run / ckpt.CHECKPOINT_DIR / "averaged.pt"
    ckpt.save_atomic(average(paths), output)
    return output
