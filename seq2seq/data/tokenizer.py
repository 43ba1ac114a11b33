"""Subword tokenizer: sentencepiece models for source and target (one shared model when joint).

Trained from config once, cached under the data cache keyed by the settings and the training
text, and saved into each run directory and checkpoint as serialized model protos.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from seq2seq.config import TokenizerConfig
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    unk: int
    bos: int
    eos: int


class Tokenizer:
    """Source and target sentencepiece processors built from serialized model protos."""

    def __init__(self, src_proto: bytes, tgt_proto: bytes | None = None) -> None:
        self.src_proto = src_proto
        self.tgt_proto = tgt_proto
        self.src = _processor(src_proto)
        self.tgt = self.src if tgt_proto is None else _processor(tgt_proto)
        self.special = SpecialIds(
            pad=self.tgt.pad_id(),
            unk=self.tgt.unk_id(),
            bos=self.tgt.bos_id(),
            eos=self.tgt.eos_id(),
        )

    @property
    def joint(self) -> bool:
        return self.tgt_proto is None

    @property
    def src_vocab_size(self) -> int:
        return self.src.get_piece_size()

    @property
    def tgt_vocab_size(self) -> int:
        return self.tgt.get_piece_size()

    def encode_src(self, lines: list[str]) -> list[list[int]]:
        return self.src.encode(lines, out_type=int)

    def encode_tgt(self, lines: list[str]) -> list[list[int]]:
        return self.tgt.encode(lines, out_type=int)

    def encode_sampled(self, lines: list[str], side: str, alpha: float, nbest: int,
                       seed: int) -> list[list[int]]:
        """Ids of one segmentation per line sampled by sentencepiece (unigram: from the nbest
        best, -1 all, smoothed by alpha; bpe: merges dropped at rate alpha), the same for the
        same seed."""
        spm.set_random_generator_seed(seed)
        return (self.src if side == "src" else self.tgt).encode(
            lines, out_type=int, enable_sampling=True, alpha=alpha, nbest_size=nbest,
            num_threads=1)

    def decode_tgt(self, ids: list[list[int]]) -> list[str]:
        """Detokenised text of target id sequences (special ids are dropped)."""
        return self.tgt.decode(ids)

    def src_pieces(self, ids: list[int]) -> list[str]:
        return [self.src.id_to_piece(i) for i in ids]

    def tgt_pieces(self, ids: list[int]) -> list[str]:
        return [self.tgt.id_to_piece(i) for i in ids]

    def save(self, folder: Path) -> None:
        """Write the model file(s) into folder: joint.model, or src.model and tgt.model."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.joint:
            _write_atomic(folder / "joint.model", self.src_proto)
        else:
            _write_atomic(folder / "src.model", self.src_proto)
            _write_atomic(folder / "tgt.model", self.tgt_proto)

    @classmethod
    def load(cls, folder: Path) -> Tokenizer:
        """Read the model file(s) that `save` wrote."""
        joint = folder / "joint.model"
        if joint.is_file():
            return cls(joint.read_bytes())
        src, tgt = folder / "src.model", folder / "tgt.model"
        for path in (src, tgt):
            if not path.is_file():
                raise UserError(
                    f"{path}: tokenizer model not found (expected joint.model or "
                    "src.model and tgt.model)"
                )
        return cls(src.read_bytes(), tgt.read_bytes())


def _processor(proto: bytes) -> spm.SentencePieceProcessor:
    try:
        return spm.SentencePieceProcessor(model_proto=proto)
    except RuntimeError as exc:
        raise UserError(f"not a sentencepiece model ({str(exc).splitlines()[0]})") from exc


def _write_atomic(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


def _train_one(cfg: TokenizerConfig, lines: list[str]) -> bytes:
    """Train a sentencepiece model on lines; return its serialized proto."""
    sink = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=sink,
            model_type=cfg.model_type,
            vocab_size=cfg.vocab_size,
            character_coverage=cfg.character_coverage,
            byte_fallback=cfg.byte_fallback,
            pad_id=cfg.pad_id,
            unk_id=cfg.unk_id,
            bos_id=cfg.bos_id,
            eos_id=cfg.eos_id,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as exc:
        message = str(exc)
        needed = re.search(r"smaller than required_chars\. \d+ vs (\d+)", message)
        if needed:
            raise UserError(
                f"tokenizer.vocab_size={cfg.vocab_size}: too small for the characters of this "
                f"training text and the special tokens; use at least {needed.group(1)}, or a "
                f"lower tokenizer.character_coverage (now {cfg.character_coverage})"
            ) from exc
        limit = re.search(r"<= ?(\d+)", message)
        if "ocabulary size" in message:
            hint = f"at most {limit.group(1)}" if limit else "a smaller value"
            raise UserError(
                f"tokenizer.vocab_size={cfg.vocab_size}: too large for this training text; "
                f"use {hint}"
            ) from exc
        raise UserError(
            f"tokenizer: sentencepiece training failed: {message.splitlines()[0]}"
        ) from exc
    return sink.getvalue()


# how a run gets the model or samples from it, not what makes it (nor its cache key)
USE_KEYS = ("sampling_alpha", "sampling_nbest", "reuse")


def model_settings(cfg: TokenizerConfig) -> dict:
    """The settings that make the sentencepiece model (not where a run takes it from, nor how
    training samples from it)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in USE_KEYS}


def _cache_key(cfg: TokenizerConfig, src_lines: list[str], tgt_lines: list[str]) -> str:
    digest = hashlib.sha256(json.dumps(model_settings(cfg), sort_keys=True).encode())
    for lines in (src_lines, tgt_lines):
        digest.update(b"\0side\0")
        for line in lines:
            digest.update(line.encode())
            digest.update(b"\n")
    return digest.hexdigest()[:20]


def train_or_reuse(
    cfg: TokenizerConfig, src_lines: list[str], tgt_lines: list[str], cache_dir: Path
) -> Tokenizer:
    """The tokenizer for these settings and texts, trained now or reused from the cache."""
    folder = Path(cache_dir) / "tokenizers" / _cache_key(cfg, src_lines, tgt_lines)
    try:
        tokenizer = Tokenizer.load(folder)
        log.info("tokenizer: reusing %s", folder)
        return tokenizer
    except UserError:
        pass
    if cfg.joint:
        tokenizer = Tokenizer(_train_one(cfg, src_lines + tgt_lines))
    else:
        tokenizer = Tokenizer(_train_one(cfg, src_lines), _train_one(cfg, tgt_lines))
    try:
        tokenizer.save(folder)
    except OSError as exc:
        log.warning("tokenizer: trained, but could not cache it in %s (%s)", folder, exc)
        return tokenizer
    log.info("tokenizer: trained %s", folder)
    return tokenizer
