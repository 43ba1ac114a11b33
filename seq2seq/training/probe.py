"""train.precision=auto for a run: the precision whose forward and backward passes over the run's
first batches are fastest here (seq2seq.precision.choose), agreed by every rank."""

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
# A warm-up and two timed passes, each over another batch, as the loop takes them: a pass that
# repeated one batch never paid what a new shape costs (cuDNN and cuBLAS plans, oneDNN
# primitives), and on an H200 fp16 so measured about even with fp32 trained at a third of its
# rate (README, Speed)
BATCHES = 3


def _seconds(cfg: TrainApp, model: nn.Module, batches: list[Batch], pad: int, precision: str,
             device: torch.device) -> float:
    """Median seconds of one forward and backward pass over each of batches but the first (a
    warm-up), in turn (no update; the random number generators and the gradients are left as
    they were)."""
    queue = iter(batches)

    def run() -> None:
        training_loss(cfg.train, model, next(queue), pad, precision).backward()

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        seconds = timed(run, device, repeats=len(batches) - 1)
    model.zero_grad(set_to_none=True)
    return seconds


def training_precision(cfg: TrainApp, model: nn.Module,
                       first_batches: Callable[[int], list[Batch]], pad: int,
                       device: torch.device, ranks: Ranks) -> str:
    """train.precision, with auto measured by rank 0 on first_batches(BATCHES) (fewer where the
    epoch has fewer: then repeated) and shared with the others."""
    if cfg.train.precision != "auto":
        return pick_precision(cfg.train.precision, device, "train.precision")
    index = 0.0
    if ranks.main:
        shape = json.dumps([dataclasses.asdict(cfg.model), model.decoder.output.out_features,
                            cfg.train.max_tokens, cfg.train.loss_chunk, cfg.train.fast_path])
        batches = [b.to(device) for b in first_batches(BATCHES)]
        batches = (batches * BATCHES)[:BATCHES]
        choice = pick_precision("auto", device, "train.precision", shape=shape,
                                measure=lambda p: _seconds(cfg, model, batches, pad, p, device))
        index = float(CHOICES.index(choice))
    (index,) = ranks.from_main([index])
    return CHOICES[int(index)]
