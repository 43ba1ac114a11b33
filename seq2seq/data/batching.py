"""Token-budget batches bucketed by length, deterministic per (seed, epoch), and their collation.

A batch's size is B * max(longest source, longest target) in tokens (source with EOS, target
with BOS or EOS): the padded tensor the model sees, which the budget bounds.
"""

from __future__ import annotations

import random
from array import array
from itertools import chain
from typing import NamedTuple

import torch

from seq2seq.errors import UserError


class Batch(NamedTuple):
    """Padded tensors of one batch; `index` maps rows back to the corpus."""

    src: torch.Tensor  # (B, S) token ids + EOS, padded with pad id
    src_lengths: torch.Tensor  # (B,) int64, on the CPU (pack_padded_sequence wants it there)
    tgt_in: torch.Tensor  # (B, T) BOS + y
    tgt_out: torch.Tensor  # (B, T) y + EOS
    index: torch.Tensor  # (B,) positions in the dataset

    def to(self, device: torch.device) -> Batch:
        return Batch(
            src=self.src.to(device, non_blocking=True),
            src_lengths=self.src_lengths,
            tgt_in=self.tgt_in.to(device, non_blocking=True),
            tgt_out=self.tgt_out.to(device, non_blocking=True),
            index=self.index,
        )

    def pin_memory(self) -> Batch:
        """The batch with the tensors that go to the device in pinned memory (a GPU copies from
        there without the host waiting)."""
        return self._replace(src=self.src.pin_memory(), tgt_in=self.tgt_in.pin_memory(),
                             tgt_out=self.tgt_out.pin_memory())


def pad(seqs: list[list[int]], pad_id: int) -> torch.Tensor:
    """(B, max length) int64 tensor of seqs right-padded with pad_id."""
    lengths = torch.tensor([len(s) for s in seqs])
    return _placed(seqs, lengths, int(lengths.max()), pad_id)


def _placed(seqs: list[list[int]], lengths: torch.Tensor, width: int, pad_id: int,
            start: int = 0) -> torch.Tensor:
    """(B, width) int64 tensor, pad_id but for row b's lengths[b] ids from column start on:
    every id placed at once through the mask of those positions."""
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    ids = array("q", chain.from_iterable(seqs))  # twice as fast as torch.tensor on a list
    if ids:
        column = torch.arange(width)
        real = (column >= start) & (column < start + lengths[:, None])
        out.masked_scatter_(real, torch.frombuffer(ids, dtype=torch.long))
    return out


def collate(
    src: list[list[int]],
    tgt: list[list[int]],
    index: list[int],
    *,
    pad_id: int,
    bos_id: int,
    eos_id: int,
) -> Batch:
    """Batch tensors from subword id lists (without BOS/EOS). The target is placed once, as
    BOS + y + EOS, and read shifted for tgt_in and tgt_out; no list is copied to add BOS or EOS
    (a 16k-token batch of the de-en recipe: 1.9 ms on a 2-core EPYC, against 3.8 for three
    pads of copied lists)."""
    rows = torch.arange(len(src))
    src_lengths = torch.tensor([len(s) for s in src]) + 1  # with EOS
    src_ids = _placed(src, src_lengths - 1, int(src_lengths.max()), pad_id)
    src_ids[rows, src_lengths - 1] = eos_id
    tgt_lengths = torch.tensor([len(t) for t in tgt]) + 1  # with BOS, or with EOS
    width = int(tgt_lengths.max())
    target = _placed(tgt, tgt_lengths - 1, width + 1, pad_id, start=1)  # BOS + y + EOS
    target[:, 0] = bos_id
    target[rows, tgt_lengths] = eos_id
    tgt_in = target[:, :width].masked_fill(torch.arange(width) == tgt_lengths[:, None], pad_id)
    return Batch(
        src=src_ids,
        src_lengths=src_lengths,
        tgt_in=tgt_in,
        tgt_out=target[:, 1:].contiguous(),
        index=torch.tensor(index, dtype=torch.long),
    )


def token_batches(
    src_lens: list[int],
    tgt_lens: list[int],
    *,
    max_tokens: int,
    seed: int,
    epoch: int,
) -> list[list[int]]:
    """Every pair's index exactly once, in batches of similar lengths whose padded size
    B * max(S, T) (lengths counting EOS/BOS) is at most max_tokens; same (seed, epoch), same
    batches; the order of batches, and of equal-length pairs, is shuffled per epoch."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(src_lens)))
    rng.shuffle(order)
    order.sort(key=lambda i: (src_lens[i], tgt_lens[i]))  # stable: ties stay shuffled
    batches, current, width = [], [], 0
    for i in order:
        size = max(src_lens[i], tgt_lens[i]) + 1
        if size > max_tokens:
            raise UserError(
                f"train.max_tokens={max_tokens}: smaller than pair {i} ({size} tokens); "
                "raise it or lower data.max_len"
            )
        new_width = max(width, size)
        if current and new_width * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, new_width = [], size
        current.append(i)
        width = new_width
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches
