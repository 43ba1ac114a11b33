"""When training stops: a stop signal, or a budget of train.* spent (patience, max_steps,
max_epochs, max_minutes), checked after every step from numbers all ranks agree on."""

from __future__ import annotations

from seq2seq.config import TrainConfig
from seq2seq.training.saving import Progress


def stop_reason(tc: TrainConfig, progress: Progress, seconds: float,
                signalled: bool) -> str | None:
    """Why to stop after `seconds` of training, first reason first, or None to go on. A signal
    comes first; a bound of 0 never stops (patience counts scheduled validations without a BLEU
    gain)."""
    if signalled:
        return "signal"
    if tc.patience and progress.bad_validations >= tc.patience:
        return f"early stopping: no BLEU gain in {tc.patience} validations"
    if tc.max_steps and progress.step >= tc.max_steps:
        return f"train.max_steps={tc.max_steps} reached"
    if tc.max_epochs and progress.epoch >= tc.max_epochs:
        return f"train.max_epochs={tc.max_epochs} reached"
    if tc.max_minutes and seconds >= 60 * tc.max_minutes:
        return f"train.max_minutes={tc.max_minutes:g} reached"
    return None
