"""One optimiser update: the loss of a group of batches (gradient accumulation, all ranks),
clipping, the optimiser's step; skipped when the loss or gradient is not finite."""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import NamedTuple

import torch
from torch import nn

from seq2seq.config import TrainConfig
from seq2seq.data.batching import Batch
from seq2seq.precision import autocast
from seq2seq.training.distributed import Ranks
from seq2seq.training.loss import batch_loss


def training_loss(tc: TrainConfig, net: nn.Module, batch: Batch, pad_id: int, precision: str,
                  chunk_rows: int | None = None) -> torch.Tensor:
    """The summed training loss of batch as train.* configures it, at precision (under its
    autocast). The loss scores train.loss_chunk target tokens at a time in fp32 and whole
    logits in bf16 (projected under autocast), unless chunk_rows says otherwise."""
    if chunk_rows is None:
        chunk_rows = tc.loss_chunk if precision == "fp32" else 0
    with autocast(precision, batch.src.device):
        return batch_loss(net, batch, pad_id, tc.label_smoothing, tc.teacher_forcing,
                          chunk_rows=chunk_rows, fast_path=tc.fast_path)


class StepResult(NamedTuple):
    loss: float  # label-smoothed cross-entropy per target token (all ranks)
    tokens: int  # target tokens of the update (all ranks)


class TrainingStep:
    """The update the training loop makes, as train.* configures it (precision, loss, clipping,
    fast path); the loop counts it and steps the schedule (Trainer.update)."""

    def __init__(self, tc: TrainConfig, net: nn.Module, model: nn.Module,
                 optimizer: torch.optim.Optimizer, pad_id: int, device: torch.device,
                 ranks: Ranks, precision: str) -> None:
        self.tc, self.net, self.model, self.optimizer = tc, net, model, optimizer
        self.pad, self.device, self.ranks, self.precision = pad_id, device, ranks, precision

    def __call__(self, group: list[Batch]) -> StepResult | None:
        """One optimiser update over group (all ranks' batches form the update), or None if
        skipped as non-finite."""
        local = sum(int((b.tgt_out != self.pad).sum()) for b in group)
        (n_tokens,) = self.ranks.all_sum([local])
        # DDP averages gradients over ranks; scaled so, the update is that of one big batch
        scale = self.ranks.world / n_tokens
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for i, b in enumerate(group):
            b = b.to(self.device)
            syncing = i == len(group) - 1 or not self.ranks.active
            with nullcontext() if syncing else self.net.no_sync():
                loss = training_loss(self.tc, self.net, b, self.pad, self.precision)
                (loss * scale).backward()
            total += float(loss.detach())
        clip = self.tc.clip_norm if self.tc.clip_norm > 0 else math.inf
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        (total,) = self.ranks.all_sum([total])
        if not (math.isfinite(total) and math.isfinite(float(norm))):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.step()
        return StepResult(total / n_tokens, int(n_tokens))
