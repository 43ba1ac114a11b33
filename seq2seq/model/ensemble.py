"""Several trained models decoding as one: at each step the mean of their probabilities.

The members share the target vocabulary (one tokenizer) and may differ in everything else:
sizes, layers, attention. Each encodes the source itself and keeps its own decoder state; the
search sees one model whose log-probabilities are log(mean_m p_m) and whose attention weights
are the members' mean.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from seq2seq.model.seq2seq import Seq2Seq


class Members(NamedTuple):
    """One decoder state or memory per member, selected together."""

    parts: tuple

    def select(self, rows: torch.Tensor) -> Members:
        """The given batch rows (B',) of every member's state or memory."""
        return Members(tuple(p.select(rows) for p in self.parts))


class Ensemble(nn.Module):
    def __init__(self, members: list[Seq2Seq]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(members)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[Members, Members]:
        """src (B, S), src_lengths (B,) -> every member's memory and first decoder state."""
        encoded = [m.encode(src, src_lengths) for m in self.members]
        return Members(tuple(e[0] for e in encoded)), Members(tuple(e[1] for e in encoded))

    def step_log_probs(
        self, tokens: torch.Tensor, state: Members, memory: Members,
        out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, Members, torch.Tensor]:
        """tokens (B,) -> log of the members' mean probabilities (B, V), their new states, their
        mean attention weights (B, S). out is ignored: each member's block lives until the
        mean is taken."""
        log_probs, states, weights = [], [], []
        for member, s, mem in zip(self.members, state.parts, memory.parts, strict=True):
            lp, s, w = member.step_log_probs(tokens, s, mem)
            log_probs.append(lp)
            states.append(s)
            weights.append(w)
        mean = torch.logsumexp(torch.stack(log_probs), dim=0) - math.log(len(log_probs))
        return mean, Members(tuple(states)), torch.stack(weights).mean(dim=0)


Decodable = Seq2Seq | Ensemble
