"""Helpers for training tests: a tiny run config on a slice of Multi30k."""

from __future__ import annotations

from seq2seq.apps import TrainApp
from seq2seq.composition import compose

TINY = [
    "model=tiny",
    "data.limit_train=600",
    "data.limit_valid=200",
    "tokenizer.vocab_size=500",
    "train.max_tokens=700",
    "train.log_every=1",
    "train.progress=false",
    "decode.batch_size=200",
    "decode.max_len_a=1.0",
    "decode.max_len_b=5",
]


def train_config(tmp_path, *overrides: str, tiny: bool = True) -> tuple[TrainApp, list[str]]:
    """The train app's config for a tiny run (or only these overrides), and its overrides."""
    overrides = [*(TINY if tiny else []), f"data.cache_dir={tmp_path / 'cache'}", *overrides]
    return compose("train", overrides), overrides
