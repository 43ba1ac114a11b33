"""Self-describing checkpoints: atomic writes, the one safe reader (weights_only), the model.

A checkpoint file is a dict: format, config (the whole run config as plain values), tokenizer
(serialized sentencepiece models), model (state dict), and, in training checkpoints,
optimizer, scheduler, progress and rng. `load` reads it once into a typed `Checkpoint`, from
which everything else (the model, a resumed run, an average) is built.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seq2seq.config import ModelConfig
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import UserError
from seq2seq.model.seq2seq import Seq2Seq

log = logging.getLogger(__name__)

FORMAT = "seq2seq-gru/1"
CHECKPOINT_DIR = "checkpoints"
TRAINING_KEYS = ("optimizer", "scheduler", "progress", "rng")
OPTIONAL_TRAINING_KEYS = ("scaler",)  # fp16's loss scale; absent before fp16 existed


@dataclass
class Checkpoint:
    """A checkpoint as read: the run's config (plain values), tokenizer and weights, and for a
    training checkpoint what resuming needs (optimizer, scheduler, progress, rng)."""

    path: Path
    config: dict
    tokenizer: Tokenizer
    weights: dict[str, torch.Tensor]
    training: dict | None = None
    averaged_from: list[str] | None = None

    def to_dict(self) -> dict:
        """The file's contents."""
        payload = {"format": FORMAT, "config": self.config,
                   "tokenizer": {"src": self.tokenizer.src_proto, "tgt": self.tokenizer.tgt_proto},
                   "model": self.weights}
        if self.training is not None:
            payload.update(self.training)
        if self.averaged_from is not None:
            payload["averaged_from"] = self.averaged_from
        return payload

    def build(self, model_cfg: ModelConfig) -> Seq2Seq:
        """The model of model_cfg (the saved one, which may differ only in layout and dropout:
        overrides.model_for_checkpoint) with these weights, in eval mode, on the CPU."""
        model = build_model(model_cfg, self.tokenizer)
        load_weights(model, self.weights, self.path)
        return model.eval()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _failed_write(path: Path, tmp: Path, exc: OSError) -> UserError:
    tmp.unlink(missing_ok=True)
    kept = f"; the previous {path.name} is intact" if path.is_file() else ""
    return UserError(f"{path}: cannot write the checkpoint ({exc.strerror or exc}){kept}")


def save_atomic(checkpoint: Checkpoint, path: Path) -> None:
    """Write checkpoint so that path always holds a complete file (temp, fsync, rename); a
    failed write (disk full, I/O error) leaves path as it was and is a one-line UserError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(checkpoint.to_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _failed_write(path, tmp, exc) from exc
    _fsync_dir(path.parent)


def link_atomic(source: Path, path: Path) -> None:
    """Make path another name for the complete file source (hard link, else copy), atomically."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise _failed_write(path, tmp, exc) from exc
    _fsync_dir(path.parent)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temp files a killed process left behind; complete checkpoints are untouched."""
    for tmp in folder.glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)


def resolve(path: str | Path, which: str = "best") -> Path:
    """A checkpoint file from a checkpoint path or a run directory (its checkpoints/WHICH.pt)."""
    path = Path(path)
    if path.is_dir():
        candidate = path / CHECKPOINT_DIR / f"{which}.pt"
        if not candidate.is_file():
            found = sorted(p.name for p in (path / CHECKPOINT_DIR).glob("*.pt"))
            hint = f"; it has {', '.join(found)}" if found else ""
            if which == "averaged":
                hint += f" (make it with: python scripts/average_checkpoints.py {path})"
            raise UserError(f"{path}: run directory without {CHECKPOINT_DIR}/{which}.pt{hint}")
        return candidate
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file or run directory")
    return path


def run_of(path: Path) -> Path:
    """The run directory a checkpoint file belongs to (its folder when not in checkpoints/)."""
    return path.parent.parent if path.parent.name == CHECKPOINT_DIR else path.parent


def _read(path: Path) -> Any:
    """torch.load(weights_only=True): the one place a checkpoint file is read."""
    try:
        with warnings.catch_warnings():  # a bare pickle (not torch.save's) warns of its protocol
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise UserError(
            f"{path}: refused: it holds objects a checkpoint must not{what}, which could run code "
            "when loaded; only plain tensors and values load (torch.load weights_only=True)"
        ) from exc
    except Exception as exc:  # a corrupted file can make torch.load raise almost anything
        lines = str(exc).strip().splitlines()
        why = lines[0][:200] if lines else type(exc).__name__
        size = path.stat().st_size if path.is_file() else 0
        raise UserError(
            f"{path}: not a readable checkpoint ({'empty file' if not size else why}; "
            "truncated or corrupted?)"
        ) from exc


def _tokenizer(payload: dict, path: Path) -> Tokenizer:
    """The checkpoint's tokenizer; failing that, the run directory's tokenizer/ folder."""
    tok = payload["tokenizer"]
    if not tok:
        try:
            return Tokenizer.load(run_of(path) / "tokenizer")
        except UserError as exc:
            raise UserError(
                f"{path}: the checkpoint holds no tokenizer and the run's is missing: {exc}"
            ) from exc
    try:
        return Tokenizer(tok["src"], tok.get("tgt"))
    except (KeyError, TypeError, AttributeError, UserError) as exc:
        raise UserError(f"{path}: the checkpoint's tokenizer model is unreadable ({exc})") from exc


def load(path: Path) -> Checkpoint:
    """Read a checkpoint file once; anything that is not one is a one-line error."""
    payload = _read(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} checkpoint")
    for key in ("config", "tokenizer", "model"):
        if key not in payload:
            raise UserError(f"{path}: checkpoint lacks its {key!r} entry")
    training = {k: payload[k] for k in TRAINING_KEYS if k in payload}
    complete = len(training) == len(TRAINING_KEYS)
    training.update({k: payload[k] for k in OPTIONAL_TRAINING_KEYS if k in payload})
    return Checkpoint(
        path=path, config=payload["config"], tokenizer=_tokenizer(payload, path),
        weights=payload["model"],
        training=training if complete else None,
        averaged_from=payload.get("averaged_from"),
    )


def reused_tokenizer(source: str) -> Tokenizer:
    """tokenizer.reuse: the tokenizer of a run directory (its best.pt) or checkpoint file."""
    try:
        path = resolve(source, "best")
    except UserError as exc:
        raise UserError(f"tokenizer.reuse={source}: {exc}") from exc
    log.info("tokenizer: reusing the one of %s", path)
    return load(path).tokenizer


def build_model(cfg: ModelConfig, tokenizer: Tokenizer) -> Seq2Seq:
    """A freshly initialised model of cfg, sized by the tokenizer's vocabularies."""
    if cfg.encoder.tie_embeddings and not tokenizer.joint:
        raise UserError("model.encoder.tie_embeddings=true: needs one joint vocabulary, and this "
                        "tokenizer has separate source and target models (tokenizer.joint=false)")
    return Seq2Seq(
        cfg,
        src_vocab=tokenizer.src_vocab_size,
        tgt_vocab=tokenizer.tgt_vocab_size,
        pad_id=tokenizer.special.pad,
    )


def load_weights(model: torch.nn.Module, state: dict[str, Any], path: Path) -> None:
    """Load a state dict; a checkpoint of another architecture is a one-line error."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = (
            (
                f"{wrong[0]} is {tuple(state[wrong[0]].shape)} there, "
                f"{tuple(own[wrong[0]].shape)} here"
            )
            if wrong
            else (f"missing {missing[:2]}" if missing else f"unexpected {unexpected[:2]}")
        )
        raise UserError(f"{path}: checkpoint of another architecture ({detail})")
    model.load_state_dict(state)
