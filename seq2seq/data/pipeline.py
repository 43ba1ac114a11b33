"""From config to encoded splits: files, tokenizer, subword ids, filters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from seq2seq.config import DataConfig, TokenizerConfig
from seq2seq.data.corpus import filter_pairs, read_parallel, split_files
from seq2seq.data.tokenizer import Tokenizer, train_or_reuse
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Split:
    """One split's text and subword ids (ids without BOS/EOS)."""

    name: str
    src_text: list[str]
    tgt_text: list[str]
    src_ids: list[list[int]]
    tgt_ids: list[list[int]]

    def __len__(self) -> int:
        return len(self.src_ids)

    def subset(self, keep: list[int]) -> Split:
        return Split(
            name=self.name,
            src_text=[self.src_text[i] for i in keep],
            tgt_text=[self.tgt_text[i] for i in keep],
            src_ids=[self.src_ids[i] for i in keep],
            tgt_ids=[self.tgt_ids[i] for i in keep],
        )


def read_split_text(
    data: DataConfig, split: str, limit: int | None = None
) -> tuple[list[str], list[str]]:
    return read_parallel(split_files(data, split), limit=limit)


def encode_split(name: str, src: list[str], tgt: list[str], tokenizer: Tokenizer) -> Split:
    return Split(
        name=name,
        src_text=src,
        tgt_text=tgt,
        src_ids=tokenizer.encode_src(src),
        tgt_ids=tokenizer.encode_tgt(tgt),
    )


@dataclass
class Prepared:
    tokenizer: Tokenizer
    train: Split
    valid: Split


def prepare(
    data: DataConfig, tok_cfg: TokenizerConfig, tokenizer: Tokenizer | None = None
) -> Prepared:
    """Read the training and validation splits, train or reuse the tokenizer (unless one is
    given or tok_cfg.reuse names a run to take it from), encode and filter the training pairs
    (every drop counted and logged)."""
    src, tgt = read_split_text(data, data.train, limit=data.limit_train or None)
    if tokenizer is None and tok_cfg.reuse:
        from seq2seq.checkpoint import reused_tokenizer  # torch only when a checkpoint is read

        tokenizer = reused_tokenizer(tok_cfg.reuse)
    if tokenizer is None:
        tokenizer = train_or_reuse(tok_cfg, src, tgt, Path(data.cache_dir))
    train = encode_split(data.train, src, tgt, tokenizer)
    keep, stats = filter_pairs(
        train.src_ids,
        train.tgt_ids,
        min_len=data.min_len,
        max_len=data.max_len,
        max_ratio=data.max_ratio,
    )
    log.info("train %s: %s", data.train, stats.summary())
    if not keep:
        raise UserError(f"data.train={data.train}: no pair is left to train on ({stats.summary()});"
                        " loosen data.min_len, data.max_len or data.max_ratio")
    valid_text = read_split_text(data, data.valid, limit=data.limit_valid or None)
    valid = encode_split(data.valid, *valid_text, tokenizer)
    return Prepared(tokenizer=tokenizer, train=train.subset(keep), valid=valid)
