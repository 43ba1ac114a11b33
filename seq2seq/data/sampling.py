"""Subword regularisation: the training pairs' ids as each epoch sees them.

Without sampling (tokenizer.sampling_alpha=0) every epoch sees the pairs' best segmentation.
With it, each epoch segments the training text anew by sampling, seeded by the run's seed and
the epoch, so that every rank of a torchrun job and a resumed run see the same ids as a run that
never stopped. Validation, test and translation always use the best segmentation.
"""

from __future__ import annotations

import logging

from seq2seq.config import TokenizerConfig
from seq2seq.data.pipeline import Split
from seq2seq.data.tokenizer import Tokenizer

log = logging.getLogger(__name__)
Ids = list[list[int]]


def epoch_seed(seed: int, epoch: int, side: int) -> int:
    """sentencepiece's sampling seed for one side (0 source, 1 target) of one epoch."""
    return (seed * 1_000_003 + epoch * 2 + side) % 2**31


class EpochSegmentation:
    """The training pairs' (source ids, target ids) for an epoch (the last one cached)."""

    def __init__(self, split: Split, tokenizer: Tokenizer, cfg: TokenizerConfig, seed: int):
        self.split, self.tokenizer, self.seed = split, tokenizer, seed
        self.alpha, self.nbest = cfg.sampling_alpha, cfg.sampling_nbest
        self._epoch: int | None = None
        self._ids: tuple[Ids, Ids] = (split.src_ids, split.tgt_ids)
        if self.sampling:
            log.info("subword sampling in training: alpha %g, nbest %d", self.alpha, self.nbest)

    @property
    def sampling(self) -> bool:
        return self.alpha > 0

    def ids(self, epoch: int) -> tuple[Ids, Ids]:
        """(source ids, target ids) of every training pair in this epoch (0-based)."""
        if not self.sampling or epoch == self._epoch:
            return self._ids
        sample = self.tokenizer.encode_sampled
        self._ids = tuple(
            sample(text, side, self.alpha, self.nbest, epoch_seed(self.seed, epoch, i))
            for i, (text, side) in enumerate(((self.split.src_text, "src"),
                                              (self.split.tgt_text, "tgt"))))
        self._epoch = epoch
        return self._ids

    def lengths(self, epoch: int) -> tuple[list[int], list[int]]:
        src, tgt = self.ids(epoch)
        return [len(s) for s in src], [len(t) for t in tgt]
