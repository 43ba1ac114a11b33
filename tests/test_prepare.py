"""`seq2seq-prepare` end to end on a slice of Multi30k from the mirror."""

from __future__ import annotations

import re

import pytest
from conftest import MIRROR, REPO, run_module

from seq2seq.config import DataConfig, TokenizerConfig
from seq2seq.data.pipeline import prepare
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.errors import UserError


def test_prepare_writes_tokenizer_and_reports_time(tmp_path):
    args = [
        f"hydra.run.dir={tmp_path / 'run'}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.limit_train=2000",
        "tokenizer.vocab_size=600",
    ]
    proc = run_module("seq2seq.prepare", *args)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"prepared de-en in \d+\.\d s\n", proc.stdout)
    assert "train train: kept" in proc.stderr and "val: 1014 pairs" in proc.stderr
    tok = Tokenizer.load(tmp_path / "run" / "tokenizer")
    assert tok.src_vocab_size == 600 and tok.joint
    assert "tokenizer: trained" in proc.stderr
    again = run_module("seq2seq.prepare", *args[1:], f"hydra.run.dir={tmp_path / 'run2'}",
                       "data.limit_valid=100")
    assert "tokenizer: reusing" in again.stderr and "val: 100 pairs" in again.stderr
    assert (REPO / "scripts" / "prepare_multi30k.py").is_file()


def test_filters_that_leave_no_training_pair_are_one_line(tmp_path):
    """Training ran its 30 epochs over no pairs and finished at step 0."""
    data = DataConfig(mirror=str(MIRROR), cache_dir=str(tmp_path), limit_train=300, max_len=1)
    with pytest.raises(UserError, match=r"^data.train=train: no pair is left to train on \(kept 0 "
                       r"pairs; dropped: 300 longer than 1\); loosen data.min_len, data.max_len"):
        prepare(data, TokenizerConfig(vocab_size=300))
