import math

import pytest
import torch

from seq2seq.decoding.selection import BLOCK, grouped_topk, row_argmax


def _rows(R: int, V: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.log_softmax(3 * torch.randn(R, V, generator=generator), dim=-1)


def _every_sum(x: torch.Tensor, offsets: torch.Tensor, k: int):
    """The plain top-k over all G * V sums: (sums, g, v)."""
    sums, index = (offsets.unsqueeze(-1) + x).flatten(1).topk(k, dim=-1)
    return sums, index // x.shape[-1], index % x.shape[-1]


@pytest.mark.parametrize("V", [8000, 8000 + 17, 11 * BLOCK, 3 * BLOCK + 5])
@pytest.mark.parametrize("G,k", [(1, 1), (1, 4), (5, 10), (3, 2)])
def test_grouped_topk_equals_ranking_every_sum(V, G, k):
    N = 7
    x = _rows(N * G, V, seed=V + G + k).view(N, G, V)
    offsets = -torch.rand(N, G, generator=torch.Generator().manual_seed(k)) * 4
    sums, groups, columns = grouped_topk(x, offsets, k)
    expected = _every_sum(x, offsets, k)
    assert torch.equal(sums, expected[0])
    assert torch.equal(groups, expected[1])  # distinct sums: the same pairs
    assert torch.equal(columns, expected[2])


def test_grouped_topk_finds_the_best_in_one_block_and_in_the_tail():
    V = 40 * BLOCK + 9
    x = _rows(2 * 3, V, seed=1).view(2, 3, V)
    x[0, 1, 5 * BLOCK: 5 * BLOCK + 4] = torch.tensor([10.0, 12.0, 11.0, 13.0])  # one block
    x[1, 2, -3:] = torch.tensor([9.0, 8.0, 7.0])  # after the last whole block
    sums, groups, columns = grouped_topk(x, torch.zeros(2, 3), 4)
    assert sums[0].tolist() == [13.0, 12.0, 11.0, 10.0]
    assert groups[0].tolist() == [1, 1, 1, 1]
    assert columns[0].tolist() == [5 * BLOCK + 3, 5 * BLOCK + 1, 5 * BLOCK + 2, 5 * BLOCK]
    assert sums[1, :3].tolist() == [9.0, 8.0, 7.0]
    assert groups[1, :3].tolist() == [2, 2, 2]
    assert columns[1, :3].tolist() == [V - 3, V - 2, V - 1]


def test_grouped_topk_weighs_the_offsets():
    """A group whose offset is low loses to the others even with the largest values."""
    x = _rows(2, 8000, seed=5).view(1, 2, 8000)
    x[0, 0, 100] = 0.0
    sums, groups, _ = grouped_topk(x, torch.tensor([[-100.0, 0.0]]), 3)
    assert groups.tolist() == [[1, 1, 1]]
    assert torch.equal(sums, x[0, 1].topk(3).values.unsqueeze(0))


def test_grouped_topk_with_masked_groups_keeps_the_plain_values():
    """Beam search masks whole rows to -inf but EOS, and starts with offsets of -inf for all
    beams but the first: the sums still equal the plain ones, each at its own pair."""
    x = _rows(2 * 5, 8000, seed=2).view(2, 5, 8000)
    x[1, 3] = -math.inf
    x[1, 3, 3] = -0.5
    offsets = torch.zeros(2, 5)
    offsets[0, 1:] = -math.inf
    sums, groups, columns = grouped_topk(x, offsets, 10)
    assert torch.equal(sums, _every_sum(x, offsets, 10)[0])
    assert groups[0].tolist() == [0] * 10
    assert torch.equal(offsets.gather(1, groups) + x[torch.arange(2).unsqueeze(1), groups,
                                                     columns], sums)


@pytest.mark.parametrize("G", [1, 2])
def test_grouped_topk_with_few_blocks(G):
    """3 blocks a row: with one group no more than k = 4 (torch ranks every sum), with two
    groups 6 (through block maxima)."""
    x = _rows(5 * G, 3 * BLOCK, seed=3).view(5, G, 3 * BLOCK)
    offsets = torch.randn(5, G, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(grouped_topk(x, offsets, 4),
                                                 _every_sum(x, offsets, 4), strict=True))


@pytest.mark.parametrize("V", [8000, 8000 + 17, 2 * BLOCK, BLOCK + 1, 7])
def test_row_argmax_equals_torch(V):
    x = _rows(41, V, seed=V)
    assert torch.equal(row_argmax(x), x.argmax(dim=-1))


def test_row_argmax_keeps_the_first_of_equal_values():
    x = _rows(4, 8000 + 17, seed=4)
    x[0, [70, 700, 7000]] = 5.0  # three blocks hold the maximum
    x[1, [BLOCK + 2, BLOCK + 9]] = 5.0  # twice in one block
    x[2, [100, 8010]] = 5.0  # in a block and in the tail: the block's is first
    x[3, [8003, 8010]] = 5.0  # only in the tail
    assert row_argmax(x).tolist() == [70, BLOCK + 2, 100, 8003]
    assert torch.equal(row_argmax(x), x.argmax(dim=-1))
