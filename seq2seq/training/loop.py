"""The training loop: steps over token batches, validation, checkpoints, stopping.

Under torchrun each rank trains on its share of every epoch's batches through
DistributedDataParallel; rank 0 alone validates and writes, and every decision that ends a
step (stop, best score, learning rate) is taken from numbers all ranks agree on.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import closing
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from seq2seq import checkpoint as ckpt
from seq2seq.apps import TrainApp
from seq2seq.data.batching import Batch, collate, token_batches
from seq2seq.data.pipeline import Prepared
from seq2seq.data.sampling import EpochSegmentation
from seq2seq.errors import UserError
from seq2seq.training.distributed import Ranks, shard
from seq2seq.training.feed import collated
from seq2seq.training.metrics import MetricsLog, Throughput
from seq2seq.training.optim import Schedule, budget_used, build_optimizer
from seq2seq.training.probe import training_precision
from seq2seq.training.saving import Checkpoints, Progress, TrainingState
from seq2seq.training.signals import StopRequest
from seq2seq.training.step import StepResult, TrainingStep, gradient_scaler
from seq2seq.training.stopping import stop_reason
from seq2seq.training.validate import validate

log = logging.getLogger(__name__)


class Trainer:
    def __init__(self, cfg: TrainApp, run: Path, data: Prepared, model: torch.nn.Module,
                 device: torch.device, ranks: Ranks | None = None) -> None:
        ranks = ranks or Ranks()
        self.cfg, self.tc, self.data, self.device, self.ranks = cfg, cfg.train, data, device, ranks
        self.sp = data.tokenizer.special
        optimizer = build_optimizer(model.parameters(), self.tc)
        self.state = TrainingState(cfg, data.tokenizer, model, optimizer,
                                   Schedule(optimizer, self.tc), Progress())
        self.net = DistributedDataParallel(model) if ranks.active else model
        self.checkpoints = Checkpoints(run / ckpt.CHECKPOINT_DIR, ranks, self.tc.save_every,
                                       self.tc.keep_last)
        self.metrics = (MetricsLog(run / "metrics.jsonl", self.tc.tensorboard)
                        if ranks.main else None)
        self.run = run
        self.segments = EpochSegmentation(data.train, data.tokenizer, cfg.tokenizer, self.tc.seed)
        self.started, self.seconds_before = time.monotonic(), 0.0
        self.seconds = 0.0  # training seconds as all ranks agree (stop_reason)
        self.epoch_length = 1  # this rank's batches in the current epoch
        # on a GPU the next update's batches are collated in a thread while it trains (feed.py)
        self.ahead = device.type == "cuda"
        first = lambda n: [self.collate(b, 0) for b in self.epoch_batches(0)[:n]]  # noqa: E731
        self.precision = training_precision(cfg, model, first, self.sp.pad, device, ranks)
        self.state.scaler = gradient_scaler(self.precision, device)
        self.step = TrainingStep(self.tc, self.net, model, optimizer, self.sp.pad, device, ranks,
                                 self.precision, self.state.scaler)

    @property
    def progress(self) -> Progress:
        return self.state.progress

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        self.checkpoints.restore(self.state, checkpoint)
        self.started, self.seconds_before = time.monotonic(), self.progress.seconds
        if self.metrics:
            self.metrics.truncate_after(self.progress.step)
        p = self.progress
        log.info("resumed from %s at step %d (epoch %d, batch %d)", checkpoint.path, p.step,
                 p.epoch + 1, p.batch)

    def elapsed(self) -> float:
        """Seconds this run has trained, earlier sessions included; also kept in progress."""
        self.progress.seconds = self.seconds_before + time.monotonic() - self.started
        return self.progress.seconds

    def _log(self, kind: str, **values) -> None:
        if self.metrics:
            elapsed = round(self.elapsed(), 3)
            self.metrics.write(kind, self.progress.step, **values, elapsed_s=elapsed)

    # -- one update ----------------------------------------------------------------------

    def collate(self, indices: list[int], epoch: int | None = None) -> Batch:
        """These training pairs as a batch, segmented as the epoch (default: this one) has them."""
        src, tgt = self.segments.ids(self.progress.epoch if epoch is None else epoch)
        return collate([src[i] for i in indices], [tgt[i] for i in indices], indices,
                       pad_id=self.sp.pad, bos_id=self.sp.bos, eos_id=self.sp.eos)

    def update(self, group: list[Batch]) -> StepResult | None:
        """One step of the loop less its logging, validation and saving: the optimiser update
        over group, counted, then the schedule's step; None if skipped as non-finite. (The
        benchmark times exactly this.)"""
        result = self.step(group)
        if result is not None:
            p = self.progress
            p.step, p.nonfinite, p.tokens = p.step + 1, 0, p.tokens + result.tokens
            self.state.schedule.after_step(self.budget_spent())
        return result

    def after_nonfinite(self) -> None:
        p = self.progress
        p.nonfinite += 1
        log.warning("step %d: non-finite loss or gradient, update skipped (%d in a row)",
                    p.step + 1, p.nonfinite)
        if p.nonfinite >= self.tc.max_nonfinite:
            raise UserError(
                f"training diverged: {p.nonfinite} non-finite losses in a row at step "
                f"{p.step + 1} (train.max_nonfinite={self.tc.max_nonfinite}); lower train.lr; "
                f"last checkpoint: {self.checkpoints.last}")

    # -- validation ----------------------------------------------------------------------

    def validate_and_save(self, scheduled: bool = True) -> None:
        """Rank 0 validates; every rank takes its numbers, updates the schedule, saves. A
        validation made only because a budget ran out (scheduled=False) is logged and may
        update best.pt, but leaves the schedule, patience and best_bleu as they were, so that a
        run resumed with a larger budget continues as one that never stopped."""
        p, state = self.progress, self.state
        numbers = [0.0] * 4
        if self.ranks.main:
            result = validate(state.model, self.data.valid, self.data.tokenizer, self.cfg.decode,
                              self.tc.max_tokens, self.device)
            numbers = [result.bleu, result.nll, result.ppl, result.seconds]
            (self.run / "valid_hypotheses.txt").write_text("\n".join(result.hypotheses) + "\n")
        bleu, nll, ppl, seconds = self.ranks.from_main(numbers)
        if scheduled:
            if bleu > p.best_bleu:
                p.best_bleu, p.best_step, p.bad_validations = bleu, p.step, 0
            else:
                p.bad_validations += 1
            p.validated_step = p.step
            state.schedule.after_validation(bleu)
        improved = bleu > p.saved_bleu  # better than the model in best.pt
        if improved:
            p.saved_bleu, p.saved_step = bleu, p.step
        lr = state.optimizer.param_groups[0]["lr"]
        epoch = p.epoch + 1 if p.batch else p.epoch  # the epoch under way, or just finished
        self._log("valid", epoch=epoch, nll=nll, ppl=ppl, bleu=bleu, best_bleu=p.saved_bleu,
                  lr=lr, seconds=seconds, scheduled=scheduled)
        best = " (best)" if improved else f" (best {p.saved_bleu:.2f} at step {p.saved_step})"
        log.info("validation at step %d%s: nll %.3f, ppl %.2f, BLEU %.2f%s (%.1fs)", p.step,
                 "" if scheduled else " (at the stop; not counted for the schedule or patience)",
                 nll, ppl, bleu, best, seconds)
        self.elapsed()
        self.checkpoints.save(state, best=improved)

    # -- the loop ------------------------------------------------------------------------

    def stop_reason(self, stop: StopRequest) -> str | None:
        """Why to stop now, agreed by all ranks (a signal on any rank or their mean clock)."""
        signalled, seconds = self.ranks.all_sum([float(bool(stop)), self.elapsed()])
        self.seconds = seconds / self.ranks.world  # clocks differ a little: all take the mean
        return stop_reason(self.tc, self.progress, self.seconds, signalled > 0)

    def budget_spent(self) -> float:
        """Share of the training budget spent: steps and epochs exact, seconds as of the last
        stop_reason (the same on every rank)."""
        p = self.progress
        return budget_used(self.tc, p.step, self.seconds, p.epoch + p.batch / self.epoch_length)

    def epoch_batches(self, epoch: int | None = None) -> list[list[int]]:
        """This rank's batches of an epoch (default: the current one)."""
        tc = self.tc
        epoch = self.progress.epoch if epoch is None else epoch
        every = token_batches(*self.segments.lengths(epoch), max_tokens=tc.max_tokens,
                              seed=tc.seed, epoch=epoch)
        return shard(every, self.ranks)

    def after_step(self, result: StepResult, meter: Throughput, bar: tqdm) -> None:
        """Log the step every train.log_every steps; validate or save when due. The training
        loss is label-smoothed (smoothed_loss, smoothed_ppl); validation's is not (nll, ppl)."""
        p, tc = self.progress, self.tc
        meter.tokens += result.tokens
        if p.step % tc.log_every == 0:
            rate = meter.rate()
            lr = self.state.optimizer.param_groups[0]["lr"]
            ppl = math.exp(min(result.loss, 50.0))
            self._log("train", epoch=p.epoch + 1, smoothed_loss=result.loss, smoothed_ppl=ppl,
                      lr=lr, tokens_per_s=rate)
            bar.set_postfix(smoothed_loss=f"{result.loss:.3f}", lr=f"{lr:.2e}",
                            tok_s=f"{rate:,.0f}", refresh=False)
            meter.restart()
        if tc.valid_every and p.step % tc.valid_every == 0:
            self.validate_and_save()
            meter.restart()  # tokens/s counts training time only
        elif tc.save_every and p.step % tc.save_every == 0:
            self.elapsed()
            self.checkpoints.save(self.state)

    def run_epoch(self, stop: StopRequest) -> str | None:
        """Train from the current position to the end of the epoch, or until a stop reason."""
        p, tc = self.progress, self.tc
        batches = self.epoch_batches()
        self.epoch_length = max(len(batches), 1)
        bar = tqdm(total=len(batches), initial=p.batch, desc=f"epoch {p.epoch + 1}", unit="batch",
                   disable=None if tc.progress and self.ranks.main else True,  # None: tty only
                   dynamic_ncols=True, leave=False)
        meter = Throughput()
        groups = [batches[s : s + tc.accumulate] for s in range(p.batch, len(batches),
                                                                tc.accumulate)]
        epoch = p.epoch
        feed = collated(groups, lambda indices: self.collate(indices, epoch), self.ahead,
                        pin=self.ahead and self.device.type == "cuda")
        with closing(feed), bar:
            for group, collated_group in zip(groups, feed, strict=True):
                result = self.update(collated_group)
                p.batch += len(group)
                bar.update(len(group))
                if result is None:
                    self.after_nonfinite()
                else:
                    self.after_step(result, meter, bar)
                reason = self.stop_reason(stop)
                if reason:
                    return reason
        p.epoch, p.batch = p.epoch + 1, 0
        if p.validated_step != p.step:
            self.validate_and_save()
        return self.stop_reason(stop)

    def fit(self) -> str:
        """Train until a stop reason; returns it."""
        self.checkpoints.prepare()
        has_last = self.ranks.from_main([float(self.checkpoints.last.is_file())])[0]
        if not has_last:
            self.checkpoints.save(self.state)  # from the first moment on, a checkpoint exists
        self.state.model.train()
        with StopRequest() as stop, logging_redirect_tqdm():
            reason = self.stop_reason(stop)
            while reason is None:
                reason = self.run_epoch(stop)
            if reason == "signal":
                self.elapsed()
                self.checkpoints.save(self.state)
            elif self.progress.validated_step != self.progress.step:
                self.validate_and_save(scheduled=False)
        if self.metrics:
            self.metrics.close()
        return reason if reason != "signal" else f"signal {stop.signal_name or 'on another rank'}"
