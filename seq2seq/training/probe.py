"""train.precision=auto for a run: the precision whose forward and backward pass over the run's
first batch is fastest here (seq2seq.precision.choose), agreed by every rank."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import torch
from torch import nn

from seq2seq.apps import TrainApp
from seq2seq.data.batching import Batch
from seq2seq.devices import pick_precision
from seq2seq.precision import LOW, timed
from seq2seq.training.distributed import Ranks
from seq2seq.training.step import training_loss

CHOICES = ("fp32", *LOW)  # what rank 0 may choose, sent to the others by index


def _seconds(cfg: TrainApp, model: nn.Module, batch: Batch, pad: int, precision: str,
             device: torch.device) -> float:
    """Seconds of one forward and backward pass over batch at precision (no update; the random
    number generators and the gradients are left as they were)."""

    def run() -> None:
        training_loss(cfg.train, model, batch, pad, precision).backward()

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        seconds = timed(run, device)
    model.zero_grad(set_to_none=True)
    return seconds


def training_precision(cfg: TrainApp, model: nn.Module, first_batch: Callable[[], Batch],
                       pad: int, device: torch.device, ranks: Ranks) -> str:
    """train.precision, with auto measured by rank 0 on first_batch() and shared with the
    others."""
    if cfg.train.precision != "auto":
        return pick_precision(cfg.train.precision, device, "train.precision")
    index = 0.0
    if ranks.main:
        shape = json.dumps([dataclasses.asdict(cfg.model), model.decoder.output.out_features,
                            cfg.train.max_tokens, cfg.train.loss_chunk, cfg.train.fast_path])
        batch = first_batch().to(device)
        choice = pick_precision("auto", device, "train.precision", shape=shape,
                                measure=lambda p: _seconds(cfg, model, batch, pad, p, device))
        index = float(CHOICES.index(choice))
    (index,) = ranks.from_main([index])
    return CHOICES[int(index)]
