"""The whole model: encoder -> bridge -> attentive decoder."""

from __future__ import annotations

import torch
from torch import nn

from seq2seq.config import ModelConfig
from seq2seq.model.bridge import Bridge
from seq2seq.model.cgru import build_decoder
from seq2seq.model.decoder import DecoderOutput, DecoderState, Memory
from seq2seq.model.encoder import Encoder


class Seq2Seq(nn.Module):
    """GRU encoder-decoder; vocabulary sizes come from the tokenizer, the rest from config."""

    def __init__(self, cfg: ModelConfig, *, src_vocab: int, tgt_vocab: int, pad_id: int) -> None:
        super().__init__()
        self.encoder = Encoder(cfg.encoder, src_vocab, pad_id)
        enc = cfg.encoder.gru
        self.bridge = Bridge(
            cfg.bridge,
            enc_layers=enc.num_layers,
            directions=self.encoder.directions,
            enc_hidden=enc.hidden_size,
            dec_layers=cfg.decoder.gru.num_layers,
            dec_hidden=cfg.decoder.gru.hidden_size,
        )
        self.decoder = build_decoder(cfg, tgt_vocab, pad_id, memory_size=self.encoder.output_size)
        if cfg.encoder.tie_embeddings:
            # one joint vocabulary (checked by build_model): the source reads the target's table
            self.encoder.embed.weight = self.decoder.embed.weight

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[Memory, DecoderState]:
        """src (B, S), src_lengths (B,) -> the memory to attend to and the decoder's first state."""
        B, S = src.shape
        enc = self.encoder(src, src_lengths)
        values = enc.outputs if self.encoder.gru.batch_first else enc.outputs.transpose(0, 1)
        mask = torch.arange(S, device=src.device) < src_lengths.to(src.device).unsqueeze(1)
        memory = Memory(values=values, keys=self.decoder.attention.keys(values), mask=mask)
        return memory, self.decoder.initial_state(self.bridge(enc.h_n))

    def step_log_probs(
        self, tokens: torch.Tensor, state: DecoderState, memory: Memory,
        out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        """One decoding step from the previous tokens (R,): log-probabilities (R, V) in fp32,
        the new state, attention weights (R, S). R is memory's batch B, or B * K when each
        sentence's K beams share its memory row (beam search).

        out: an fp32 block from an earlier step that the log-probabilities may overwrite if it
        holds R * V; a search passes the last step's, since on a CPU a fresh (R, V) block costs
        a page fault every 4 KB (a tenth of bf16 beam search on a 2-core Xeon with AMX)."""
        o, state, weights = self.decoder.step(self.decoder.embed(tokens), state, memory)
        logits = self.decoder.logits(o)
        if out is None or out.numel() < logits.numel() or out.dtype != torch.float32:
            return torch.log_softmax(logits.float(), dim=-1), state, weights
        block = out.view(-1)[: logits.numel()].view(logits.shape)
        if logits.dtype != torch.float32:
            logits = block.copy_(logits)  # then log-softmax in place
        return torch.log_softmax(logits, dim=-1, out=block), state, weights

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        teacher_forcing: float = 1.0,
        positions: torch.Tensor | None = None,
        project: bool = True,
        fast_path: bool = True,
    ) -> DecoderOutput:
        """src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T, V), attention (B, T, S);
        with positions (B, T) bool the logits are only those positions' (N, V); with
        project=False, features (B, T, H) or (N, H) instead of logits (for the chunked loss);
        fast_path=False forces the decoder's step loop."""
        memory, state = self.encode(src, src_lengths)
        return self.decoder(tgt_in, state, memory, teacher_forcing, positions, project, fast_path)
