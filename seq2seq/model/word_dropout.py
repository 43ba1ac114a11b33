"""Word dropout: whole token embeddings zeroed at random in training (Gal & Ghahramani, 2016;
Sennrich et al., 2016), so the GRU cannot lean on any one input word. Unlike nn.Dropout on the
embedding, which drops single features, each dropped position loses its whole vector; the
kept positions are scaled by 1 / (1 - p) as nn.Dropout does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class WordDropout(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """emb (B, T, E) -> emb with each (b, t) row zeroed with probability p, in training.
        At p = 0 or in eval mode it is emb itself and draws no random numbers."""
        if not self.training or self.p == 0.0:
            return emb
        keep = F.dropout(emb.new_ones(emb.shape[:-1] + (1,)), self.p, training=True)
        return emb * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"
