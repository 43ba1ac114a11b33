"""Setting up a training run: resume config, threads, device, data, model; then the loop."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import OmegaConf

from seq2seq import checkpoint as ckpt
from seq2seq import run_dirs
from seq2seq.apps import TrainApp
from seq2seq.config_rules import validate as validate_config
from seq2seq.data.pipeline import prepare
from seq2seq.data.tokenizer import model_settings
from seq2seq.devices import pick_device, use_tf32
from seq2seq.errors import UserError
from seq2seq.model.gru import idle_dropout
from seq2seq.overrides import architecture_differences, merge_explicit, typed
from seq2seq.training import distributed, lock, rng
from seq2seq.training.loop import Trainer

log = logging.getLogger(__name__)
SECTIONS = ("data", "tokenizer", "model", "train", "decode")


def resumed_config(
    saved: dict, composed: TrainApp, overrides: list[str], what: str = "train.resume"
) -> TrainApp:
    """The resumed run's config: as saved, changed only by this command line's overrides. what
    names the key or option that gave the checkpoint, in messages."""
    cfg = typed(TrainApp, merge_explicit(saved, composed, overrides, SECTIONS), what)
    validate_config(cfg)
    before = typed(TrainApp, saved, "checkpoint config")
    diffs = architecture_differences(before.model, cfg.model)
    if diffs:
        raise UserError(f"{diffs[0]}: {what} holds a checkpoint of another architecture")
    if model_settings(cfg.tokenizer) != model_settings(before.tokenizer):
        raise UserError(
            "tokenizer settings differ from the resumed checkpoint's; "
            "a resumed run keeps its tokenizer"
        )
    return cfg


def _check_writable(run: Path) -> None:
    try:
        (run / ckpt.CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        probe = run / ckpt.CHECKPOINT_DIR / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"hydra.run.dir={run}: cannot write the run directory ({exc.strerror})"
        ) from exc


def run_training(cfg: TrainApp, run: Path, overrides: list[str]) -> str:
    """Train as configured into the run directory (under torchrun: one rank of the job);
    returns why training stopped."""
    ranks = distributed.start(cfg.train.backend, cfg.train.dist_timeout)
    try:
        stopped = train_in_group(cfg, run, overrides, ranks)[1]
        ranks.barrier()  # every rank has finished before any takes the process group down
        return stopped
    finally:
        distributed.stop()
        lock.release(run)


def train_in_group(
    cfg: TrainApp, run: Path, overrides: list[str], ranks: distributed.Ranks
) -> tuple[Trainer, str]:
    """Train as one rank of a started process group; the trainer and why it stopped."""
    trainer = build_trainer(cfg, run, overrides, ranks)
    reason = trainer.fit()
    if ranks.main:
        _report(reason, trainer.progress, run, ranks)
    return trainer, reason


def _device(name: str, overrides: list[str]) -> torch.device:
    """train.device as pick_device takes it; its error names the hardware group that set the
    device when the command line did not set it itself."""
    try:
        return pick_device(name, "train.device")
    except UserError as exc:
        lines = [line.lstrip("+~") for line in overrides]
        groups = [line for line in lines if line.startswith("hardware=")]
        if groups and not any(line.startswith("train.device=") for line in lines):
            raise UserError(f"{groups[-1]} sets {exc}") from None
        raise


def build_trainer(
    cfg: TrainApp, run: Path, overrides: list[str], ranks: distributed.Ranks
) -> Trainer:
    """Everything before the first step: the resumed config and state, threads, device, seeds,
    data and tokenizer (saved in the run with config.yaml), the model, the Trainer."""
    if ranks.main:
        _check_writable(run)
        lock.hold(run)
        run_dirs.refuse_overwrite(run, cfg.train.resume)
    resumed = tokenizer = None
    if cfg.train.resume:
        path = ckpt.resolve(cfg.train.resume, "last")
        if ranks.main:
            lock.check_free(ckpt.run_of(path), "train.resume")
        resumed = ckpt.load(path)
        cfg = resumed_config(resumed.config, cfg, overrides)
        tokenizer = resumed.tokenizer
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = _device(cfg.train.device, overrides)
    if device.type == "cuda" and ranks.active:
        device = torch.device("cuda", ranks.local_rank)
    use_tf32(device, cfg.train.tf32)
    rng.seed_everything(cfg.train.seed + ranks.rank)  # own dropout masks; DDP copies rank 0's init
    if not ranks.main:
        ranks.barrier()  # rank 0 trains (or finds) the tokenizer first; the others reuse it
    data = prepare(cfg.data, cfg.tokenizer, tokenizer)
    if ranks.main:
        ranks.barrier()
        data.tokenizer.save(run / "tokenizer")
        (run / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    model = ckpt.build_model(cfg.model, data.tokenizer).to(device)
    trainer = Trainer(cfg, run, data, model, device, ranks)
    log.info("model: %s parameters; %d training pairs; device %s, %d threads, %s, %d process%s",
             f"{sum(p.numel() for p in model.parameters()):,}", len(data.train), device,
             torch.get_num_threads(), trainer.precision, ranks.world,
             "es" if ranks.active else "")
    if ranks.main:
        for line in idle_dropout(cfg.model):
            log.warning(line)
    if resumed is not None:
        trainer.restore(resumed)
    return trainer


def _report(reason: str, p, run: Path, ranks: distributed.Ranks) -> None:
    last = run / ckpt.CHECKPOINT_DIR / "last.pt"
    if reason.startswith("signal"):
        log.info("stopped by %s at step %d; checkpoint %s", reason.split(" ", 1)[1], p.step, last)
        launcher = (f"torchrun --nproc_per_node={ranks.world} -m seq2seq.train" if ranks.active
                    else "seq2seq-train")
        log.info("resume with: %s hydra.run.dir=%s train.resume=%s", launcher, run, run)
    else:
        log.info("finished at step %d (%s); best validation BLEU %.2f at step %d; checkpoints "
                 "in %s", p.step, reason, p.saved_bleu, p.saved_step, run / ckpt.CHECKPOINT_DIR)
