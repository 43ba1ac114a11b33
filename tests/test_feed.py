"""The loop's batches collated in turn or one update ahead in a thread: the same batches, in
order, at most one group ahead, errors where the batch is taken; the loop trains the same."""

from __future__ import annotations

import threading

import pytest
import torch
from training import train_config

from seq2seq import checkpoint as ckpt
from seq2seq.data.batching import collate
from seq2seq.training.distributed import Ranks
from seq2seq.training.feed import collated
from seq2seq.training.run import build_trainer

CORPUS = [[4 + i % 7] * (1 + i % 5) for i in range(40)]
GROUPS = [[[0, 1], [2, 3, 4]], [[5]], [[6, 7, 8]], [[9, 10], [11]]]


def _collate(calls: list):
    def run(indices):
        calls.append((indices[0], threading.current_thread().name))
        seqs = [CORPUS[i] for i in indices]
        return collate(seqs, seqs, indices, pad_id=0, bos_id=2, eos_id=3)
    return run


def _rows(groups_of_batches) -> list[list[list[list[int]]]]:
    return [[b.tgt_out.tolist() for b in batches] for batches in groups_of_batches]


def test_ahead_gives_the_same_batches_in_order_collated_in_a_worker_thread():
    in_turn, ahead = [], []
    expected = _rows(collated(GROUPS, _collate(in_turn)))
    assert _rows(collated(GROUPS, _collate(ahead), ahead=True)) == expected
    assert [b.index.tolist() for g in collated(GROUPS, _collate([])) for b in g] == [
        i for g in GROUPS for i in g]
    assert [name for _, name in in_turn] == ["MainThread"] * 6
    assert [first for first, _ in ahead] == [0, 2, 5, 6, 9, 11]
    assert all(name.startswith("collate") for _, name in ahead)


def test_ahead_collates_one_group_ahead_and_stops_when_closed():
    calls = []
    feed = collated(GROUPS, _collate(calls), ahead=True)
    next(feed)
    feed.close()  # waits for the group under way
    assert [first for first, _ in calls] == [0, 2, 5]  # groups 0 and 1, nothing further


def test_a_collation_error_is_raised_where_its_batch_is_taken():
    def failing(indices):
        if indices == [5]:
            raise ValueError("group 1")
        return _collate([])(indices)

    feed = collated(GROUPS, failing, ahead=True)
    next(feed)
    with pytest.raises(ValueError, match="group 1"):
        next(feed)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned memory needs a CUDA device")
def test_pinned_batches_are_the_same_batches():
    batches = next(collated(GROUPS, _collate([]), ahead=True, pin=True))
    assert all(b.src.is_pinned() and b.tgt_in.is_pinned() for b in batches)
    assert _rows([batches]) == _rows(collated(GROUPS[:1], _collate([])))


def test_the_loop_trains_the_same_with_its_batches_collated_ahead(tmp_path):
    weights = []
    for ahead in (False, True):
        # into the second epoch (33 updates an epoch), where a new feed starts
        cfg, ov = train_config(tmp_path, "train.max_steps=40", "train.seed=3")
        trainer = build_trainer(cfg, tmp_path / f"ahead-{ahead}", ov, Ranks())
        assert trainer.ahead is False  # on a CPU the loop collates in turn
        trainer.ahead = ahead
        assert trainer.fit() == "train.max_steps=40 reached"
        weights.append(ckpt.load(tmp_path / f"ahead-{ahead}" / "checkpoints" / "last.pt").weights)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
