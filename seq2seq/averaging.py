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


def average(paths: list[Path]) -> dict:
    """A checkpoint whose weights are the mean of those in paths (config and tokenizer from the
    last); integer tensors, if any, are taken from the last."""
    if not paths:
        raise UserError("no checkpoints to average (train with train.save_every=N to keep some)")
    payloads = [ckpt.load(p) for p in paths]
    last = payloads[-1]
    for path, payload in zip(paths, payloads, strict=True):
        if payload["model"].keys() != last["model"].keys() or any(
            payload["model"][k].shape != v.shape for k, v in last["model"].items()
        ):
            raise UserError(f"{path}: a checkpoint of another architecture than {paths[-1]}")
    weights = {}
    for key, value in last["model"].items():
        if value.is_floating_point():
            stacked = torch.stack([p["model"][key].double() for p in payloads])
            weights[key] = stacked.mean(dim=0).to(value.dtype)
        else:
            weights[key] = value.clone()
    return {
        "format": ckpt.FORMAT,
        "config": last["config"],
        "tokenizer": last["tokenizer"],
        "model": weights,
        "averaged_from": [str(p) for p in paths],
    }


def average_run(run: Path, last_n: int, output: Path | None = None) -> Path:
    """Average the last_n numbered checkpoints of a run into output (checkpoints/averaged.pt)."""
    paths = numbered(run)[-last_n:]
    if len(paths) < last_n:
        raise UserError(f"{run}: has {len(paths)} step_N.pt checkpoints, fewer than --last "
                        f"{last_n}")
    output = output or run / ckpt.CHECKPOINT_DIR / "averaged.pt"
    ckpt.save_atomic(average(paths), output)
    return output
