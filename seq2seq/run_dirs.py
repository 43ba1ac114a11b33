"""The run directory a command writes into: checked before Hydra creates it, locked for one
training before Hydra writes there, and removed again if a refusal left nothing in it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hydra._internal.utils import get_args_parser
from omegaconf import DictConfig, OmegaConf

from seq2seq.errors import UserError


def claim(app: str, composed: DictConfig | None, argv: list[str]) -> Path | None:
    """For one training (not a sweep, rank 0): lock the run directory before Hydra writes
    there; the directory if this command created it, else None."""
    args = get_args_parser().parse_known_args(argv)[0]
    if app != "train" or composed is None or secondary_rank() or args.multirun or args.cfg:
        return None
    from seq2seq.training import lock

    run = Path(str(composed.hydra.run.dir))
    fresh = not run.exists()
    lock.hold(run)
    if not fresh:
        refuse_overwrite(run, OmegaConf.select(composed, "train.resume"))
    return run if fresh else None


def refuse_overwrite(run: Path, resume: str | None) -> None:
    """A training into a run directory that holds checkpoints must be resuming that run's own;
    a new one would overwrite them."""
    saved = _checkpoints(run)
    if not saved:
        return
    if resume:
        target = Path(resume).resolve()
        if run.resolve() in (target, target.parent.parent):  # the run, or one of its checkpoints
            return
    raise UserError(
        f"hydra.run.dir={run}: holds the checkpoints of a training already "
        f"({', '.join(saved)}), which a new one would overwrite; continue it with "
        f"train.resume={run}, or train into another hydra.run.dir (or remove this one)")


def discard(run: Path | None) -> None:
    """Remove a run directory this command created, if a refusal left no checkpoint in it."""
    if run is not None and run.is_dir() and not _checkpoints(run):
        shutil.rmtree(run, ignore_errors=True)


def _checkpoints(run: Path) -> list[str]:
    """The names of the checkpoint files in a run directory."""
    return sorted(p.name for p in (run / "checkpoints").glob("*.pt"))


def secondary_rank() -> bool:
    """A process of a torchrun job other than rank 0: it must not write the run directory."""
    return os.environ.get("RANK", "0") != "0"


def check_writable(path: str) -> None:
    """The run directory must exist as a writable folder or be creatable."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(
            f"hydra.run.dir={path}: cannot create or write the run directory "
            f"({probe} is not a writable folder)"
        )
