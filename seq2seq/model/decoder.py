"""The decoder: target embedding -> nn.GRU (unidirectional) -> attention -> output projection.

Each step t reads y_{t-1}. The GRU input is [embedding; c_t if bahdanau; o_{t-1} if input
feeding] (that concatenation's width is model.decoder.gru.input_size). Bahdanau attends with the
previous top-layer state s_{t-1} before the GRU step, Luong with s_t after it; either way the
attentional vector o_t = tanh(W_c [s_t; c_t]) (width H_dec) is projected to the vocabulary.

With Luong attention, no input feeding and full teacher forcing, no step depends on an earlier
step's attention, so the decoder nn.GRU runs once over all T positions (the fast path).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from seq2seq.config import ModelConfig
from seq2seq.model.attention import Attended, build_attention
from seq2seq.model.dropout import Dropout
from seq2seq.model.gru import build_gru, gru_step
from seq2seq.model.widths import decoder_embedding_size
from seq2seq.model.word_dropout import WordDropout


class Memory(NamedTuple):
    """What the decoder attends to, computed once per batch. Beam search keeps one row per
    sentence and decodes K rows per sentence against it (`Decoder.attend`)."""

    values: torch.Tensor  # (B, S, C) encoder outputs, batch-major
    keys: torch.Tensor  # (B, S, K) attention keys projected from values
    mask: torch.Tensor  # (B, S) True on real source tokens

    def select(self, rows: torch.Tensor) -> Memory:
        """The memory of the given batch rows (B',) -> (B', S, ...). index_select copies whole
        rows, where advanced indexing gathers element by element (slower on a CPU)."""
        return Memory(*(part.index_select(0, rows) for part in self))


class DecoderState(NamedTuple):
    hidden: torch.Tensor  # (L, B, H)
    feed: torch.Tensor | None  # (B, H) previous attentional vector (input feeding), else None

    def select(self, rows: torch.Tensor) -> DecoderState:
        """The state of the given batch rows, e.g. the surviving beams."""
        feed = None if self.feed is None else self.feed.index_select(0, rows)
        return DecoderState(self.hidden.index_select(1, rows), feed)


class DecoderOutput(NamedTuple):
    logits: torch.Tensor | None  # (B, T, V), or (N, V) at the N positions asked for
    attention: torch.Tensor  # (B, T, S)
    state: DecoderState
    # with project=False, instead of logits: what the output layer projects, (B, T, H) or (N, H)
    features: torch.Tensor | None = None


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig, vocab_size: int, pad_id: int, memory_size: int) -> None:
        super().__init__()
        dec = cfg.decoder
        hidden = dec.gru.hidden_size
        self.attention_kind = dec.attention
        self.input_feeding = dec.input_feeding
        self.embed = nn.Embedding(vocab_size, decoder_embedding_size(cfg), padding_idx=pad_id)
        self.word_dropout = WordDropout(dec.word_dropout)
        self.embed_dropout = Dropout(dec.embed_dropout)
        self.gru = build_gru(dec.gru)
        self.attention = build_attention(dec.attention, hidden, memory_size)
        self.combine = nn.Linear(hidden + memory_size, hidden)
        self.output_dropout = Dropout(dec.output_dropout)
        self.output = nn.Linear(hidden, vocab_size)
        if dec.tie_embeddings:
            # N(0, 1) embeddings would give logits of size sqrt(H) at the start; scale them
            # as the output projection they also are
            nn.init.normal_(self.embed.weight, std=hidden**-0.5)
            with torch.no_grad():
                self.embed.weight[pad_id].zero_()
            self.output.weight = self.embed.weight

    @property
    def fast_path(self) -> bool:
        """Whether teacher-forced training may run the GRU over all steps in one call."""
        return self.attention_kind != "bahdanau" and not self.input_feeding

    def runs_parallel(self, teacher_forcing: float = 1.0, fast_path: bool = True) -> bool:
        """Whether teacher-forced decoding with these settings takes the fast path (one GRU
        call over all steps) rather than the step loop."""
        return fast_path and self.fast_path and teacher_forcing >= 1.0

    def initial_state(self, h_0: torch.Tensor) -> DecoderState:
        """h_0 (L, B, H) from the bridge -> the state before the first step."""
        feed = h_0.new_zeros(h_0.shape[1:]) if self.input_feeding else None
        return DecoderState(hidden=h_0, feed=feed)

    def _run_gru(self, x: torch.Tensor, hidden: torch.Tensor,
                 gru: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, I), hidden (L, B, H) -> outputs (B, T, H), h_n (L, B, H), in either layout
        (gru: self.gru unless given)."""
        gru = self.gru if gru is None else gru
        if gru.batch_first:
            return gru(x, hidden)
        out, h_n = gru(x.transpose(0, 1), hidden)
        return out.transpose(0, 1), h_n

    def _gru_step(self, x: torch.Tensor, hidden: torch.Tensor,
                  gru: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x (R, I), hidden (L, R, H) -> outputs (R, 1, H), h_n (L, R, H) (gru:
        self.gru unless given). Training takes gru_step, whose dropout between layers is
        cheaper than nn.GRU's; decoding calls the module, which may be int8-quantised."""
        gru = self.gru if gru is None else gru
        if self.training:
            out, hidden = gru_step(gru, x, hidden)
            return out.unsqueeze(1), hidden
        return self._run_gru(x.unsqueeze(1), hidden, gru)

    def _embed_inputs(self, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced inputs tgt_in (B, T) -> embeddings (B, T, E), word dropout and dropout
        applied in training."""
        return self.embed_dropout(self.word_dropout(self.embed(tgt_in)))

    def _combine(self, s: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """s (B, T, H), context (B, T, C) -> attentional vectors (B, T, H)."""
        return torch.tanh(self.combine(torch.cat([s, context], dim=-1)))

    def attend(self, query: torch.Tensor, memory: Memory) -> Attended:
        """One step's queries (R, 1, Hq) against memory of B rows, where each memory row serves
        R // B consecutive query rows (the K beams of a sentence; 1 outside beam search) ->
        context (R, 1, C), weights (R, 1, S). A sentence's beams attend as K query positions of
        one matrix product, and the memory is never copied K times."""
        R, B = query.shape[0], memory.values.shape[0]
        if R == B:
            return self.attention(query, memory.keys, memory.values, memory.mask)
        grouped = self.attention(query.reshape(B, R // B, -1), memory.keys, memory.values,
                                 memory.mask)
        return Attended(grouped.context.reshape(R, 1, -1), grouped.weights.reshape(R, 1, -1))

    def step(
        self, emb: torch.Tensor, state: DecoderState, memory: Memory
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        """One step: emb (R, E) -> attentional vector (R, H), new state, weights (R, S); R is
        the batch B, or B * K in beam search with memory of B rows (see attend)."""
        inputs = [emb]
        if self.attention_kind == "bahdanau":
            early = self.attend(state.hidden[-1].unsqueeze(1), memory)
            inputs.append(early.context.squeeze(1))
        if self.input_feeding:
            inputs.append(state.feed)
        out, hidden = self._gru_step(torch.cat(inputs, dim=-1), state.hidden)
        if self.attention_kind == "bahdanau":
            attended = early
        else:
            attended = self.attend(out, memory)
        o = self._combine(out, attended.context).squeeze(1)  # (R, H)
        new_state = DecoderState(hidden=hidden, feed=o if self.input_feeding else None)
        return o, new_state, attended.weights.squeeze(1)

    def features(self, o: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Attentional vectors o (B, T, H) -> the output layer's input (B, T, H) (dropout in
        training); with positions (B, T) bool, only there: (N, H). Training skips padding this
        way, the costliest product saved."""
        if positions is not None:
            o = o[positions]
        return self.output_dropout(o)

    def logits(self, o: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Attentional vectors o (B, T, H) -> logits (B, T, V), or (N, V) at positions."""
        return self.output(self.features(o, positions))

    def _output(self, o, attention, state, positions, project: bool) -> DecoderOutput:
        if project:
            return DecoderOutput(self.logits(o, positions), attention, state)
        return DecoderOutput(None, attention, state, self.features(o, positions))

    def forward_parallel(
        self,
        tgt_in: torch.Tensor,
        state: DecoderState,
        memory: Memory,
        positions: torch.Tensor | None = None,
        project: bool = True,
    ) -> DecoderOutput:
        """The fast path: tgt_in (B, T) -> logits (B, T, V) [(N, V) at positions] (or, with
        project=False, the features they come from), attention (B, T, S)."""
        assert self.fast_path, "the fast path needs Luong attention without input feeding"
        emb = self._embed_inputs(tgt_in)  # (B, T, E)
        out, hidden = self._run_gru(emb, state.hidden)  # (B, T, H)
        attended = self.attention(out, memory.keys, memory.values, memory.mask)
        o = self._combine(out, attended.context)  # (B, T, H)
        return self._output(o, attended.weights, DecoderState(hidden, None), positions, project)

    def forward_steps(
        self,
        tgt_in: torch.Tensor,
        state: DecoderState,
        memory: Memory,
        teacher_forcing: float = 1.0,
        positions: torch.Tensor | None = None,
        project: bool = True,
    ) -> DecoderOutput:
        """The step loop: tgt_in (B, T) -> logits (B, T, V) [(N, V) at positions] (or, with
        project=False, the features they come from), attention (B, T, S).

        With teacher_forcing < 1 each sentence reads, at each step after the first, its own
        previous argmax instead of the reference with probability 1 - teacher_forcing.
        """
        B, T = tgt_in.shape
        emb_all = self._embed_inputs(tgt_in)  # (B, T, E)
        outs, weights = [], []
        for t in range(T):
            emb = emb_all[:, t]
            if teacher_forcing < 1.0 and t > 0:
                own = self.embed_dropout(self.embed(self.logits(outs[-1]).argmax(-1)))
                use_own = torch.rand(B, 1, device=emb.device) >= teacher_forcing
                emb = torch.where(use_own, own, emb)
            o, state, w = self.step(emb, state, memory)
            outs.append(o)
            weights.append(w)
        o_all = torch.stack(outs, dim=1)  # (B, T, H)
        return self._output(o_all, torch.stack(weights, dim=1), state, positions, project)

    def forward(
        self,
        tgt_in: torch.Tensor,
        state: DecoderState,
        memory: Memory,
        teacher_forcing: float = 1.0,
        positions: torch.Tensor | None = None,
        project: bool = True,
        fast_path: bool = True,
    ) -> DecoderOutput:
        """Teacher-forced decoding of tgt_in (B, T): the fast path where it applies (and
        fast_path allows it), else the step loop."""
        if self.runs_parallel(teacher_forcing, fast_path):
            return self.forward_parallel(tgt_in, state, memory, positions, project)
        return self.forward_steps(tgt_in, state, memory, teacher_forcing, positions, project)
