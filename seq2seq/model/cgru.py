"""The conditional GRU decoder (Nematus, nmtpy): two GRU transitions per step around attention.

Each step t: s'_t = GRU1(y_{t-1}, s_{t-1}) reads the target embedding (model.decoder.gru,
input_size = the embedding width); attention reads s'_t and gives the context c_t; s_t =
GRU2(c_t, s'_t) reads the context (model.decoder.gru2, input_size = D*H_enc, the same layers and
width as GRU1); the attentional vector o_t = tanh(W_c [s_t; c_t]) is projected to the vocabulary.
Both transitions are nn.GRUs built from config. GRU1 needs s_{t-1}, which needs c_{t-1}: the
decoder always runs its step loop (no fast path).
"""

from __future__ import annotations

import torch

from seq2seq.config import ModelConfig
from seq2seq.model.decoder import Decoder, DecoderState, Memory
from seq2seq.model.gru import build_gru


class ConditionalDecoder(Decoder):
    def __init__(self, cfg: ModelConfig, vocab_size: int, pad_id: int, memory_size: int) -> None:
        super().__init__(cfg, vocab_size, pad_id, memory_size)
        self.gru2 = build_gru(cfg.decoder.gru2)

    @property
    def fast_path(self) -> bool:
        return False

    def step(
        self, emb: torch.Tensor, state: DecoderState, memory: Memory
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        """One step: emb (R, E) -> attentional vector (R, H), new state, weights (R, S); R is
        the batch, or its beams (Decoder.attend)."""
        out1, h1 = self._gru_step(emb, state.hidden)  # s'_t: (R, 1, H), (L, R, H)
        attended = self.attend(out1, memory)
        out2, hidden = self._gru_step(attended.context.squeeze(1), h1, self.gru2)  # s_t
        o = self._combine(out2, attended.context).squeeze(1)  # (R, H)
        return o, DecoderState(hidden=hidden, feed=None), attended.weights.squeeze(1)


def build_decoder(cfg: ModelConfig, vocab_size: int, pad_id: int, memory_size: int) -> Decoder:
    """The decoder model.decoder.type names."""
    kind = ConditionalDecoder if cfg.decoder.type == "cgru" else Decoder
    return kind(cfg, vocab_size, pad_id, memory_size)
