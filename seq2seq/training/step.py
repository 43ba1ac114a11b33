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
from seq2seq.devices import pick_precision
from seq2seq.training.distributed import Ranks
from seq2seq.training.loss import batch_loss


class StepResult(NamedTuple):
    loss: float  # label-smoothed cross-entropy per target token (all ranks)
    tokens: int  # target tokens of the update (all ranks)


class TrainingStep:
    """The update the training loop makes, as train.* configures it (precision, loss, clipping,
    fast path); the loop counts it and steps the schedule (Trainer.update)."""

    def __init__(self, tc: TrainConfig, net: nn.Module, model: nn.Module,
                 optimizer: torch.optim.Optimizer, pad_id: int, device: torch.device,
                 ranks: Ranks) -> None:
        self.tc, self.net, self.model, self.optimizer = tc, net, model, optimizer
        self.pad, self.device, self.ranks = pad_id, device, ranks
        self.precision = pick_precision(tc.precision, device, "train.precision")
        # bf16 projects whole logits under autocast; fp32 scores them a chunk at a time
        self.loss_chunk = tc.loss_chunk if self.precision == "fp32" else 0

    def autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

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
