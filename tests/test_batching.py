"""Token-budget batches over Multi30k train: coverage, budget, padding efficiency, determinism."""

from __future__ import annotations

import random

import pytest
import torch

from seq2seq.data.batching import collate, pad, token_batches
from seq2seq.data.corpus import read_lines
from seq2seq.errors import UserError


@pytest.fixture(scope="module")
def lengths(small_tokenizer, mirror):
    src = small_tokenizer.encode_src(read_lines(mirror / "train.de.gz"))
    tgt = small_tokenizer.encode_tgt(read_lines(mirror / "train.en.gz"))
    return [len(s) for s in src], [len(t) for t in tgt]


def _padded_sizes(batch, src_lens, tgt_lens):
    s = max(src_lens[i] for i in batch) + 1
    t = max(tgt_lens[i] for i in batch) + 1
    return s, t


def test_epoch_covers_every_pair_once_within_budget(lengths):
    src_lens, tgt_lens = lengths
    assert len(src_lens) == 29000
    batches = token_batches(src_lens, tgt_lens, max_tokens=4096, seed=1, epoch=0)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(29000))
    real = padded = 0
    for b in batches:
        s, t = _padded_sizes(b, src_lens, tgt_lens)
        assert len(b) * max(s, t) <= 4096
        real += sum(src_lens[i] + 1 + tgt_lens[i] + 1 for i in b)
        padded += len(b) * (s + t)
    efficiency = real / padded
    print(f"padding efficiency at max_tokens=4096: {efficiency:.3f} over {len(batches)} batches")
    assert efficiency >= 0.90


def test_same_seed_and_epoch_same_batches_other_epoch_reorders(lengths):
    src_lens, tgt_lens = lengths
    a = token_batches(src_lens, tgt_lens, max_tokens=2000, seed=7, epoch=3)
    b = token_batches(src_lens, tgt_lens, max_tokens=2000, seed=7, epoch=3)
    c = token_batches(src_lens, tgt_lens, max_tokens=2000, seed=7, epoch=4)
    d = token_batches(src_lens, tgt_lens, max_tokens=2000, seed=8, epoch=3)
    assert a == b
    assert a != c and a != d
    assert sorted(map(tuple, a)) != sorted(map(tuple, c)), "the batches' members change too"


def test_pair_longer_than_budget_is_a_config_error():
    with pytest.raises(UserError, match="train.max_tokens=10"):
        token_batches([3, 20], [4, 5], max_tokens=10, seed=0, epoch=0)


def test_collate_adds_bos_eos_and_pads():
    batch = collate([[5, 6, 7], [8]], [[9], [10, 11]], [4, 2], pad_id=0, bos_id=2, eos_id=3)
    assert batch.src.tolist() == [[5, 6, 7, 3], [8, 3, 0, 0]]
    assert batch.src_lengths.tolist() == [4, 2]
    assert batch.tgt_in.tolist() == [[2, 9, 0], [2, 10, 11]]
    assert batch.tgt_out.tolist() == [[9, 3, 0], [10, 11, 3]]
    assert batch.index.tolist() == [4, 2]
    assert batch.src.dtype == torch.long


def test_collate_equals_padding_each_list_with_its_bos_and_eos():
    rng = random.Random(3)
    src = [[rng.randrange(4, 50) for _ in range(rng.randrange(0, 9))] for _ in range(40)]
    tgt = [[rng.randrange(4, 50) for _ in range(rng.randrange(0, 9))] for _ in range(40)]
    batch = collate(src, tgt, list(range(40)), pad_id=0, bos_id=2, eos_id=3)
    src_width = max(len(s) for s in src) + 1
    tgt_width = max(len(t) for t in tgt) + 1
    row = lambda ids, width: ids + [0] * (width - len(ids))  # noqa: E731
    assert batch.src.tolist() == [row(s + [3], src_width) for s in src]
    assert batch.tgt_in.tolist() == [row([2] + t, tgt_width) for t in tgt]
    assert batch.tgt_out.tolist() == [row(t + [3], tgt_width) for t in tgt]
    assert batch.src_lengths.tolist() == [len(s) + 1 for s in src]
    assert all(t.is_contiguous() and t.dtype == torch.long for t in batch)


def test_collate_of_empty_lists_is_bos_and_eos_alone():
    batch = collate([[]], [[]], [0], pad_id=0, bos_id=2, eos_id=3)
    assert (batch.src.tolist(), batch.tgt_in.tolist(), batch.tgt_out.tolist()) == (
        [[3]], [[2]], [[3]])


def test_pad_places_each_row_left_and_keeps_int64():
    big = 2**40  # past int32: the ids stay int64
    out = pad([[], [big, 1], [7]], 9)
    assert out.tolist() == [[9, 9], [big, 1], [7, 9]]
    assert out.dtype == torch.long
