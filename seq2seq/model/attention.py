"""Attention over encoder outputs with the source padding mask.

Keys are computed once per batch by `keys(memory)` and passed to every call, so nothing is
stored on the module between calls. A call takes T queries at once: T=1 in the step loop, all
target positions on the fast path.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Attended(NamedTuple):
    context: torch.Tensor  # (B, T, C): weighted sum of memory
    weights: torch.Tensor  # (B, T, S): exactly 0 on padding, rows sum to 1


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """torch.bmm(a, b); for a model cast to bf16 on a CPU (decoding) the product runs in fp32.

    torch multiplies bf16 matrices through oneDNN, which builds a kernel for each new shape
    (about 0.5 ms on a 2-core Xeon with AMX), and decoding meets a new shape at nearly every
    step: rows drop out as sentences end and each batch has its own source length. fp32
    products of these sizes need no such kernel: 504 of the 759 kernels that bf16 beam search
    of test_2016_flickr built were these. Under autocast (training) torch's choice stands."""
    cpu = a.device.type == "cpu"
    if a.dtype == torch.bfloat16 and cpu and not torch.is_autocast_enabled("cpu"):
        return torch.bmm(a.float(), b.float()).to(a.dtype)
    return torch.bmm(a, b)


def _attend(scores: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> Attended:
    """scores (B, T, S), memory (B, S, C), mask (B, S) True on real tokens."""
    scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(memory.dtype)
    return Attended(context=_bmm(weights, memory), weights=weights)


class BahdanauAttention(nn.Module):
    """Additive: score(q, m) = v . tanh(W_q q + W_k m)."""

    def __init__(self, query_size: int, memory_size: int, attn_size: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(memory_size, attn_size, bias=False)
        self.query_proj = nn.Linear(query_size, attn_size, bias=True)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """memory (B, S, C) -> keys (B, S, A)."""
        return self.key_proj(memory)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
    ) -> Attended:
        """query (B, T, Hq), keys (B, S, A), memory (B, S, C), mask (B, S)."""
        q = self.query_proj(query).unsqueeze(2)  # (B, T, 1, A)
        scores = self.v(torch.tanh(q + keys.unsqueeze(1))).squeeze(-1)  # (B, T, S)
        return _attend(scores, memory, mask)


class LuongAttention(nn.Module):
    """Multiplicative: score(q, m) = q . m (dot) or q . W m (general)."""

    def __init__(self, query_size: int, memory_size: int, general: bool) -> None:
        super().__init__()
        self.key_proj = nn.Linear(memory_size, query_size, bias=False) if general else None

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """memory (B, S, C) -> keys (B, S, Hq)."""
        return memory if self.key_proj is None else self.key_proj(memory)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
    ) -> Attended:
        """query (B, T, Hq), keys (B, S, Hq), memory (B, S, C), mask (B, S)."""
        scores = _bmm(query, keys.transpose(1, 2))  # (B, T, S)
        return _attend(scores, memory, mask)


def build_attention(kind: str, query_size: int, memory_size: int) -> nn.Module:
    if kind == "bahdanau":
        return BahdanauAttention(query_size, memory_size, attn_size=query_size)
    return LuongAttention(query_size, memory_size, general=kind == "luong_general")
