"""A training run's checkpoints: what goes in (everything to continue exactly), where, how many."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from seq2seq import checkpoint as ckpt
from seq2seq.apps import TrainApp
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import UserError
from seq2seq.training import rng
from seq2seq.training.distributed import Ranks


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint."""

    step: int = 0  # optimiser updates done
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches of the current epoch consumed (by each rank)
    best_bleu: float = -1.0  # the best scheduled validation (the schedule and patience's)
    best_step: int = 0
    bad_validations: int = 0  # scheduled validations since the best one
    saved_bleu: float = -1.0  # the validation BLEU of best.pt (scheduled or at a stop)
    saved_step: int = 0
    validated_step: int = -1
    nonfinite: int = 0  # non-finite losses in a row
    tokens: int = 0  # target tokens trained on (all ranks)
    seconds: float = 0.0  # wall-clock seconds of training, summed over resumed sessions


@dataclass
class TrainingState:
    """The parts of a run that change as it trains."""

    cfg: TrainApp
    tokenizer: Tokenizer
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: object  # training.optim.Schedule
    progress: Progress
    scaler: torch.amp.GradScaler | None = None  # fp16's loss scale (training.step)


class Checkpoints:
    """last.pt always; best.pt at a new best; step_N.pt every train.save_every steps."""

    def __init__(self, folder: Path, ranks: Ranks, save_every: int, keep_last: int) -> None:
        self.folder, self.ranks = folder, ranks
        self.save_every, self.keep_last = save_every, keep_last

    @property
    def last(self) -> Path:
        return self.folder / "last.pt"

    def prepare(self) -> None:
        if self.ranks.main:
            self.folder.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.folder)

    def save(self, state: TrainingState, best: bool = False) -> None:
        """Write the state (called by every rank: each rank's RNG state goes in)."""
        states = self.ranks.gather(rng.capture())
        if not self.ranks.main:
            return
        checkpoint = ckpt.Checkpoint(
            path=self.last,
            config=dataclasses.asdict(state.cfg),
            tokenizer=state.tokenizer,
            weights=state.model.state_dict(),
            training={
                "optimizer": state.optimizer.state_dict(),
                "scheduler": state.schedule.state_dict(),
                "scaler": state.scaler.state_dict() if state.scaler else {},
                "progress": dataclasses.asdict(state.progress),
                "rng": {"ranks": states},
            },
        )
        ckpt.save_atomic(checkpoint, self.last)
        if best:
            ckpt.link_atomic(self.last, self.folder / "best.pt")
        step = state.progress.step
        if self.save_every and step and step % self.save_every == 0:
            ckpt.link_atomic(self.last, self.folder / f"step_{step:08d}.pt")
            for old in sorted(self.folder.glob("step_*.pt"))[: -self.keep_last]:
                old.unlink()

    def adopt_best(self, resumed: Path, saved_step: int) -> None:
        """Resuming another run's checkpoint into this folder: take that run's best.pt too (a
        link) when it is the one the resumed progress calls best (of saved_step), so that this
        run has a best.pt before it validates better."""
        best = ckpt.run_of(resumed) / ckpt.CHECKPOINT_DIR / "best.pt"
        mine = self.folder / "best.pt"
        if not self.ranks.main or mine.exists() or not best.is_file():
            return
        found = ckpt.load(best).training
        if found and found["progress"]["step"] == saved_step:
            self.prepare()
            ckpt.link_atomic(best, mine)

    def restore(self, state: TrainingState, checkpoint: ckpt.Checkpoint) -> None:
        """Continue exactly where the checkpoint left off (same number of processes)."""
        path, training = checkpoint.path, checkpoint.training
        if training is None:
            raise UserError(f"{path}: not a training checkpoint (no optimizer, scheduler, "
                            "progress or rng); train.resume needs last.pt, best.pt or step_N.pt "
                            "of a run")
        saved = training["rng"]["ranks"]
        if len(saved) != self.ranks.world:
            raise UserError(f"{path}: saved by {len(saved)} process(es); resume it with as many "
                            f"(this run has {self.ranks.world})")
        ckpt.load_weights(state.model, checkpoint.weights, path)
        state.optimizer.load_state_dict(training["optimizer"])
        state.schedule.load_state_dict(training["scheduler"])
        if state.scaler and training.get("scaler"):  # fp16; absent in older checkpoints
            state.scaler.load_state_dict(training["scaler"])
        state.progress = Progress(**training["progress"])
        p = state.progress
        if p.saved_bleu < p.best_bleu:  # a checkpoint from before saved_bleu existed
            p.saved_bleu, p.saved_step = p.best_bleu, p.best_step
        rng.restore(saved[self.ranks.rank])
        self.adopt_best(path, p.saved_step)
