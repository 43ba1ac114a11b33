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


def loss_chunk(tc: TrainConfig, precision: str) -> int:
    """Target tokens the loss scores at a time: bf16 projects whole logits under autocast (0);
    fp32 scores train.loss_chunk at a time."""
    return tc.loss_chunk if precision == "fp32" else 0


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
        self.loss_chunk = loss_chunk(tc, precision)

    def autocast(self):
        return autocast(self.precision, self.device)

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
                with self.autocast():
                    loss = batch_loss(self.net, b, self.pad, self.tc.label_smoothing,
                                      self.tc.teacher_forcing, chunk_rows=self.loss_chunk,
                                      fast_path=self.tc.fast_path)
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
