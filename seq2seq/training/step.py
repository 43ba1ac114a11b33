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
    autocast). The loss scores train.loss_chunk target tokens at a time (in bf16 and fp16 the
    products in that dtype, the softmax in fp32), unless chunk_rows says otherwise."""
    if chunk_rows is None:
        chunk_rows = tc.loss_chunk
    with autocast(precision, batch.src.device):
        return batch_loss(net, batch, pad_id, tc.label_smoothing, tc.teacher_forcing,
                          chunk_rows=chunk_rows, fast_path=tc.fast_path)


class StepResult(NamedTuple):
    loss: float  # label-smoothed cross-entropy per target token (all ranks)
    tokens: int  # target tokens of the update (all ranks)


def gradient_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """fp16's dynamic loss scaling (its gradients underflow unscaled); disabled, and so a
    no-op, in the other precisions."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


class TrainingStep:
    """The update the training loop makes, as train.* configures it (precision, loss, clipping,
    fast path); the loop counts it and steps the schedule (Trainer.update).

    In fp16 the loss is scaled before backward and the gradients unscaled before clipping; an
    update whose scaled gradients overflowed is skipped by the scaler, which then lowers the
    scale (that is not a non-finite loss: it counts as a step, as in torch's AMP recipe)."""

    def __init__(self, tc: TrainConfig, net: nn.Module, model: nn.Module,
                 optimizer: torch.optim.Optimizer, pad_id: int, device: torch.device,
                 ranks: Ranks, precision: str, scaler: torch.amp.GradScaler) -> None:
        self.tc, self.net, self.model, self.optimizer = tc, net, model, optimizer
        self.pad, self.device, self.ranks, self.precision = pad_id, device, ranks, precision
        self.scaler = scaler

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
                self.scaler.scale(loss * scale).backward()
            total += float(loss.detach())
        self.scaler.unscale_(self.optimizer)
        clip = self.tc.clip_norm if self.tc.clip_norm > 0 else math.inf
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        (total,) = self.ranks.all_sum([total])
        # in fp16 the scaler judges the gradients: it skips an update that overflowed
        gradients_ok = self.scaler.is_enabled() or math.isfinite(float(norm))
        if not (math.isfinite(total) and gradients_ok):
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.update()  # fp16: ends this update's unscaling (and lowers the scale)
            return None
        self.scaler.step(self.optimizer)  # optimizer.step(), unless fp16's gradients overflowed
        self.scaler.update()
        return StepResult(total / n_tokens, int(n_tokens))
