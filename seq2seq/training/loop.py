"""The training loop: steps over token batches, validation, checkpoints, resume, stopping."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from seq2seq import checkpoint as ckpt
from seq2seq.config import TrainApp
from seq2seq.data.batching import Batch, collate, token_batches
from seq2seq.data.pipeline import Prepared
from seq2seq.errors import UserError
from seq2seq.training import rng
from seq2seq.training.metrics import MetricsLog
from seq2seq.training.optim import Schedule, build_optimizer
from seq2seq.training.signals import StopRequest
from seq2seq.training.validate import token_loss, validate

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    step: int = 0  # optimiser updates done
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches of the current epoch consumed
    best_bleu: float = -1.0
    best_step: int = 0
    bad_validations: int = 0  # validations since the best one
    validated_step: int = -1
    nonfinite: int = 0  # non-finite losses in a row
    tokens: int = 0  # target tokens trained on


class Trainer:
    def __init__(
        self, cfg: TrainApp, run: Path, data: Prepared, model: torch.nn.Module, device: torch.device
    ) -> None:
        self.cfg, self.run, self.data, self.model, self.device = cfg, run, data, model, device
        self.tc = cfg.train
        self.sp = data.tokenizer.special
        self.optimizer = build_optimizer(model.parameters(), self.tc)
        self.schedule = Schedule(self.optimizer, self.tc)
        self.progress = Progress()
        self.ckpt_dir = run / ckpt.CHECKPOINT_DIR
        self.metrics = MetricsLog(run / "metrics.jsonl", tensorboard=self.tc.tensorboard)
        self.lengths = ([len(s) for s in data.train.src_ids], [len(t) for t in data.train.tgt_ids])
        self.started = time.monotonic()
        self.autocast = (
            torch.autocast(device.type, dtype=torch.bfloat16)
            if self.tc.precision == "bf16"
            else nullcontext()
        )

    # -- checkpoints ---------------------------------------------------------------------

    def payload(self) -> dict:
        return {
            "format": ckpt.FORMAT,
            "config": dataclasses.asdict(self.cfg),
            "tokenizer": ckpt.tokenizer_payload(self.data.tokenizer),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "progress": dataclasses.asdict(self.progress),
            "rng": rng.capture(),
        }

    def save(self, best: bool = False) -> Path:
        """Write last.pt; also best.pt when best; also step_N.pt every train.save_every steps."""
        last = self.ckpt_dir / "last.pt"
        ckpt.save_atomic(self.payload(), last)
        if best:
            ckpt.link_atomic(last, self.ckpt_dir / "best.pt")
        step = self.progress.step
        if self.tc.save_every and step and step % self.tc.save_every == 0:
            ckpt.link_atomic(last, self.ckpt_dir / f"step_{step:08d}.pt")
            for old in sorted(self.ckpt_dir.glob("step_*.pt"))[: -self.tc.keep_last]:
                old.unlink()
        return last

    def restore(self, payload: dict, path: Path) -> None:
        """Continue exactly where the checkpoint left off."""
        for key in ("optimizer", "scheduler", "progress", "rng"):
            if key not in payload:
                raise UserError(
                    f"{path}: not a training checkpoint (no {key!r}); "
                    "train.resume needs last.pt, best.pt or step_N.pt of a run"
                )
        ckpt.load_weights(self.model, payload["model"], path)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.schedule.load_state_dict(payload["scheduler"])
        self.progress = Progress(**payload["progress"])
        self.metrics.truncate_after(self.progress.step)
        rng.restore(payload["rng"])
        log.info(
            "resumed from %s at step %d (epoch %d, batch %d)",
            path,
            self.progress.step,
            self.progress.epoch + 1,
            self.progress.batch,
        )

    # -- one update ----------------------------------------------------------------------

    def collate(self, indices: list[int]) -> Batch:
        train = self.data.train
        return collate(
            [train.src_ids[i] for i in indices],
            [train.tgt_ids[i] for i in indices],
            indices,
            pad_id=self.sp.pad,
            bos_id=self.sp.bos,
            eos_id=self.sp.eos,
        )

    def train_step(self, group: list[Batch]) -> tuple[float, int] | None:
        """One optimiser update over the batches of group (gradient accumulation);
        returns (mean loss per target token, target tokens), or None if skipped as non-finite."""
        n_tokens = sum(int((b.tgt_out != self.sp.pad).sum()) for b in group)
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for b in group:
            b = b.to(self.device)
            with self.autocast:
                out = self.model(b.src, b.src_lengths, b.tgt_in, self.tc.teacher_forcing,
                                 positions=b.tgt_out != self.sp.pad)
            loss = token_loss(out.logits, b.tgt_out, self.sp.pad, self.tc.label_smoothing)
            (loss / n_tokens).backward()
            total += float(loss.detach())
        norm = torch.nn.utils.clip_grad_norm_(
            self.model.parameters(), self.tc.clip_norm if self.tc.clip_norm > 0 else math.inf
        )
        if not (math.isfinite(total) and math.isfinite(float(norm))):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.step()
        self.schedule.after_step()
        return total / n_tokens, n_tokens

    def after_nonfinite(self) -> None:
        p = self.progress
        p.nonfinite += 1
        log.warning(
            "step %d: non-finite loss or gradient, update skipped (%d in a row)",
            p.step + 1,
            p.nonfinite,
        )
        if p.nonfinite >= self.tc.max_nonfinite:
            raise UserError(
                f"training diverged: {p.nonfinite} non-finite losses in a row at step {p.step + 1} "
                f"(train.max_nonfinite={self.tc.max_nonfinite}); lower train.lr or raise "
                f"train.clip_norm guard; last checkpoint: {self.ckpt_dir / 'last.pt'}"
            )

    # -- validation ----------------------------------------------------------------------

    def validate_and_save(self) -> None:
        p = self.progress
        result = validate(
            self.model,
            self.data.valid,
            self.data.tokenizer,
            self.cfg.decode,
            self.tc.max_tokens,
            self.device,
        )
        improved = result.bleu > p.best_bleu
        if improved:
            p.best_bleu, p.best_step, p.bad_validations = result.bleu, p.step, 0
        else:
            p.bad_validations += 1
        p.validated_step = p.step
        self.schedule.after_validation(result.bleu)
        lr = self.optimizer.param_groups[0]["lr"]
        self.metrics.write(
            "valid",
            p.step,
            epoch=p.epoch + 1,
            loss=result.loss,
            ppl=result.ppl,
            bleu=result.bleu,
            best_bleu=p.best_bleu,
            lr=lr,
            seconds=result.seconds,
        )
        log.info(
            "validation at step %d: loss %.3f, ppl %.2f, BLEU %.2f%s (%.1fs)",
            p.step,
            result.loss,
            result.ppl,
            result.bleu,
            " (best)" if improved else f" (best {p.best_bleu:.2f} at step {p.best_step})",
            result.seconds,
        )
        self.save(best=improved)
        (self.run / "valid_hypotheses.txt").write_text("\n".join(result.hypotheses) + "\n")

    # -- the loop ------------------------------------------------------------------------

    def stop_reason(self, stop: StopRequest) -> str | None:
        p, tc = self.progress, self.tc
        if stop:
            return "signal"
        if tc.patience and p.bad_validations >= tc.patience:
            return f"early stopping: no BLEU gain in {tc.patience} validations"
        if tc.max_steps and p.step >= tc.max_steps:
            return f"train.max_steps={tc.max_steps} reached"
        if tc.max_epochs and p.epoch >= tc.max_epochs:
            return f"train.max_epochs={tc.max_epochs} reached"
        if tc.max_minutes and time.monotonic() - self.started >= 60 * tc.max_minutes:
            return f"train.max_minutes={tc.max_minutes:g} reached"
        return None

    def run_epoch(self, stop: StopRequest) -> str | None:
        """Train from the current position to the end of the epoch, or until a stop reason."""
        p, tc = self.progress, self.tc
        batches = token_batches(
            *self.lengths, max_tokens=tc.max_tokens, seed=tc.seed, epoch=p.epoch
        )
        bar = tqdm(
            total=len(batches),
            initial=p.batch,
            desc=f"epoch {p.epoch + 1}",
            unit="batch",
            disable=not tc.progress,
            dynamic_ncols=True,
            leave=False,
        )
        window_tokens, window_start = 0, time.perf_counter()
        while p.batch < len(batches):
            group = batches[p.batch : p.batch + tc.accumulate]
            result = self.train_step([self.collate(g) for g in group])
            p.batch += len(group)
            bar.update(len(group))
            if result is None:
                self.after_nonfinite()
                continue
            loss, n_tokens = result
            p.step, p.nonfinite, p.tokens = p.step + 1, 0, p.tokens + n_tokens
            window_tokens += n_tokens
            if p.step % tc.log_every == 0:
                elapsed = time.perf_counter() - window_start
                lr = self.optimizer.param_groups[0]["lr"]
                rate = window_tokens / max(elapsed, 1e-9)
                self.metrics.write(
                    "train",
                    p.step,
                    epoch=p.epoch + 1,
                    loss=loss,
                    ppl=math.exp(min(loss, 50.0)),
                    lr=lr,
                    tokens_per_s=rate,
                )
                bar.set_postfix(
                    loss=f"{loss:.3f}",
                    ppl=f"{math.exp(min(loss, 50)):.1f}",
                    lr=f"{lr:.2e}",
                    tok_s=f"{rate:,.0f}",
                    refresh=False,
                )
                window_tokens, window_start = 0, time.perf_counter()
            if tc.valid_every and p.step % tc.valid_every == 0:
                self.validate_and_save()
                window_tokens, window_start = 0, time.perf_counter()
            elif tc.save_every and p.step % tc.save_every == 0:
                self.save()
            reason = self.stop_reason(stop)
            if reason:
                bar.close()
                return reason
        bar.close()
        p.epoch, p.batch = p.epoch + 1, 0
        if p.validated_step != p.step:
            self.validate_and_save()
        return self.stop_reason(stop)

    def fit(self) -> str:
        """Train until a stop reason; returns it."""
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        ckpt.remove_stale_temporaries(self.ckpt_dir)
        if not (self.ckpt_dir / "last.pt").is_file():
            self.save()  # from the first moment on, a loadable checkpoint exists
        self.model.train()
        with StopRequest() as stop, logging_redirect_tqdm():
            reason = self.stop_reason(stop)
            while reason is None:
                reason = self.run_epoch(stop)
            if reason == "signal":
                self.save()
            elif self.progress.validated_step != self.progress.step:
                self.validate_and_save()
        self.metrics.close()
        return reason if reason != "signal" else f"signal {stop.signal_name}"
