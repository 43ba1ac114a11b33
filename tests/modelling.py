"""Helpers for model tests: configs from Hydra overrides, random batches."""

from __future__ import annotations

import torch

from seq2seq.composition import compose
from seq2seq.config import ModelConfig
from seq2seq.model.seq2seq import Seq2Seq

V_SRC, V_TGT, PAD = 37, 41, 0


def model_config(*overrides: str, base: str = "tiny") -> ModelConfig:
    """The model section of the inspect app composed with these overrides (checked)."""
    return compose("inspect", [f"model={base}", *overrides]).model


def build(cfg: ModelConfig, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    return Seq2Seq(cfg, src_vocab=V_SRC, tgt_vocab=V_TGT, pad_id=PAD).eval()


def random_batch(lengths: list[int], T: int = 6, seed: int = 1):
    """src (B, S) padded after each length, src_lengths (B,), tgt_in (B, T)."""
    g = torch.Generator().manual_seed(seed)
    S = max(lengths)
    src = torch.randint(4, V_SRC, (len(lengths), S), generator=g)
    for row, n in enumerate(lengths):
        src[row, n:] = PAD
    tgt = torch.randint(4, V_TGT, (len(lengths), T), generator=g)
    return src, torch.tensor(lengths), tgt
