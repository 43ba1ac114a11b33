"""The encoder: source embedding -> nn.GRU over packed sequences."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seq2seq.config import EncoderConfig
from seq2seq.model.dropout import Dropout
from seq2seq.model.gru import build_gru
from seq2seq.model.word_dropout import WordDropout


class EncoderOutput(NamedTuple):
    """nn.GRU's own results, in its own layout."""

    outputs: torch.Tensor  # (B, S, D*H) if batch_first else (S, B, D*H); zero at padding
    h_n: torch.Tensor  # (L*D, B, H): each sentence's state after its last real token


class Encoder(nn.Module):
    """Embedding(V_src, E) -> word dropout -> dropout -> nn.GRU(**model.encoder.gru), packed by
    source length."""

    def __init__(self, cfg: EncoderConfig, vocab_size: int, pad_id: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.gru.input_size, padding_idx=pad_id)
        self.word_dropout = WordDropout(cfg.word_dropout)
        self.dropout = Dropout(cfg.embed_dropout)
        self.gru = build_gru(cfg.gru)

    @property
    def directions(self) -> int:
        return 2 if self.gru.bidirectional else 1

    @property
    def output_size(self) -> int:
        return self.directions * self.gru.hidden_size

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, h_0: torch.Tensor | None = None
    ) -> EncoderOutput:
        """src (B, S) ids, src_lengths (B,) on the CPU, h_0 (L*D, B, H) or None
        -> outputs (B, S, D*H) [(S, B, D*H) when batch_first=false], h_n (L*D, B, H)."""
        B, S = src.shape
        x = self.dropout(self.word_dropout(self.embed(src)))  # (B, S, E)
        if not self.gru.batch_first:
            x = x.transpose(0, 1)  # (S, B, E)
        packed = pack_padded_sequence(
            x, src_lengths.cpu(), batch_first=self.gru.batch_first, enforce_sorted=False
        )
        packed_out, h_n = self.gru(packed, h_0)
        outputs, _ = pad_packed_sequence(
            packed_out, batch_first=self.gru.batch_first, total_length=S
        )
        return EncoderOutput(outputs=outputs, h_n=h_n)
