"""Exact top-k and argmax over the vocabulary, found through the maxima of blocks of columns.

On a CPU, torch.topk and argmax walk each row element by element, while a maximum over blocks
of 64 columns is vectorised and several times faster. A row's k largest values lie in its k
blocks with the largest maxima (or in the columns after the last whole block), so only those
k * 64 (+ tail) candidates are ranked. Values are always the ones torch would give; among
equal values another column may be picked (argmax keeps torch's first one). Other devices,
and rows with no more blocks than k (in a group), use torch's own.
"""

from __future__ import annotations

import torch

BLOCK = 64


def _by_blocks(x: torch.Tensor, groups: int, k: int) -> bool:
    """Whether x (..., V) is worth ranking through block maxima for the k largest of groups
    of its rows."""
    return x.device.type == "cpu" and groups * (x.shape[-1] // BLOCK) > k


def _blocks(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """x (..., V) -> its whole blocks (..., V // BLOCK, BLOCK), a view, and the first column
    after them (the tail runs from there to V)."""
    end = x.shape[-1] // BLOCK * BLOCK
    return x[..., :end].unflatten(-1, (end // BLOCK, BLOCK)), end


def grouped_topk(
    x: torch.Tensor, offsets: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (N, G, V), offsets (N, G) -> for each n the k largest sums offsets[n, g] + x[n, g, v]
    over its G * V pairs (g, v), largest first: the sums (N, k), their g (N, k) and v (N, k).

    Beam search: the G beams of a sentence, their scores, and the log-probabilities of their
    continuations."""
    N, G, V = x.shape
    if not _by_blocks(x, G, k):
        sums, index = (offsets.unsqueeze(-1) + x).flatten(1).topk(k, dim=-1)
        return sums, index // V, index % V
    blocks, end = _blocks(x)  # (N, G, q, BLOCK)
    q = blocks.shape[2]
    block_max = (blocks.amax(-1) + offsets.unsqueeze(-1)).flatten(1)  # (N, G * q)
    chosen = block_max.topk(k, dim=-1).indices  # (N, k)
    n, group, block = torch.arange(N).unsqueeze(1), chosen // q, chosen % q
    candidates = (blocks[n, group, block] + offsets[n, group].unsqueeze(-1)).flatten(1)
    groups = group.repeat_interleave(BLOCK, dim=1)  # (N, k * BLOCK)
    columns = (block.unsqueeze(-1) * BLOCK + torch.arange(BLOCK)).flatten(1)
    if end < V:  # the columns after the last whole block are candidates too
        candidates = torch.cat([candidates, (x[..., end:] + offsets.unsqueeze(-1)).flatten(1)],
                               dim=1)
        groups = torch.cat([groups, torch.arange(G).repeat_interleave(V - end).expand(N, -1)], 1)
        columns = torch.cat([columns, torch.arange(end, V).repeat(G).expand(N, -1)], 1)
    sums, pick = candidates.topk(k, dim=-1)
    return sums, groups.gather(1, pick), columns.gather(1, pick)


def row_argmax(x: torch.Tensor) -> torch.Tensor:
    """x (R, V) -> each row's column of its largest value (R,), the first one among equals."""
    if not _by_blocks(x, 1, 1):
        return x.argmax(dim=-1)
    blocks, end = _blocks(x)  # (R, q, BLOCK)
    block_max = blocks.amax(-1)  # (R, q)
    block = block_max.argmax(-1)  # the first block holding the row's largest value
    rows = torch.arange(x.shape[0])
    column = block * BLOCK + blocks[rows, block].argmax(-1)
    if end < x.shape[-1]:
        tail_max, tail_column = x[:, end:].max(dim=-1)
        later = tail_max > block_max[rows, block]
        column = torch.where(later, tail_column + end, column)
    return column
