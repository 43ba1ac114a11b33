"""Self-describing checkpoints: atomic writes, safe loads (weights_only), and the model they hold.

A checkpoint is a dict: format, config (the whole run config as plain values), tokenizer
(serialized sentencepiece models), model (state dict), and, for training, optimizer,
scheduler, progress and rng.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seq2seq.config import ModelConfig
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import UserError
from seq2seq.model.ensemble import Ensemble
from seq2seq.model.seq2seq import Seq2Seq

FORMAT = "seq2seq-gru/1"
CHECKPOINT_DIR = "checkpoints"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_atomic(payload: dict, path: Path) -> None:
    """Write payload so that path always holds a complete checkpoint (temp, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def link_atomic(source: Path, path: Path) -> None:
    """Make path another name for the complete file source (hard link, else copy), atomically."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        os.link(source, tmp)
    except OSError:
        import shutil

        shutil.copyfile(source, tmp)
    os.replace(tmp, path)
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


def load(path: Path) -> dict:
    """Read a checkpoint with torch.load(weights_only=True); anything else is a one-line error."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise UserError(
            f"{path}: refused: it holds objects a checkpoint must not{what}, which could run code "
            "when loaded; only plain tensors and values load (torch.load weights_only=True)"
        ) from exc
    except Exception as exc:  # a corrupted file can make torch.load raise almost anything
        raise UserError(
            f"{path}: not a readable checkpoint (truncated or corrupted?): "
            f"{str(exc).splitlines()[0][:200]}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} checkpoint")
    for key in ("config", "tokenizer", "model"):
        if key not in payload:
            raise UserError(f"{path}: checkpoint lacks its {key!r} entry")
    return payload


def tokenizer_payload(tokenizer: Tokenizer) -> dict:
    return {"src": tokenizer.src_proto, "tgt": tokenizer.tgt_proto}


def tokenizer_of(payload: dict, path: Path) -> Tokenizer:
    tok = payload["tokenizer"]
    try:
        return Tokenizer(tok["src"], tok.get("tgt"))
    except (KeyError, TypeError, UserError) as exc:
        raise UserError(f"{path}: the checkpoint's tokenizer model is unreadable ({exc})") from exc


@dataclass
class Loaded:
    """A model ready to translate, with what it was trained from."""

    model: Seq2Seq | Ensemble
    tokenizer: Tokenizer
    config: dict  # the run's config as saved (the first model's, in an ensemble)
    path: Path
    parameters: int = 0  # trainable parameters (shared ones once), counted before quantisation
    members: list[Path] = field(default_factory=list)  # every model's checkpoint, path first


def build_model(cfg: ModelConfig, tokenizer: Tokenizer) -> Seq2Seq:
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
