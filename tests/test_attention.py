"""Attention: padding gets exactly zero weight, rows sum to one, keys are passed in."""

from __future__ import annotations

import pytest
import torch

from seq2seq.model.attention import _bmm, build_attention


@pytest.mark.parametrize("kind", ["bahdanau", "luong_dot", "luong_general"])
def test_padding_weights_exactly_zero_and_rows_sum_to_one(kind):
    torch.manual_seed(0)
    H = 12
    attn = build_attention(kind, query_size=H, memory_size=H)
    B, S, T = 3, 7, 4
    memory = torch.randn(B, S, H) * 5  # large scores: softmax must still give exact zeros
    lengths = torch.tensor([7, 2, 5])
    mask = torch.arange(S) < lengths.unsqueeze(1)
    out = attn(torch.randn(B, T, H) * 5, attn.keys(memory), memory, mask)
    assert out.weights.shape == (B, T, S) and out.context.shape == (B, T, H)
    assert torch.equal(out.weights.masked_select(~mask.unsqueeze(1)), torch.zeros(5 * T + 2 * T))
    torch.testing.assert_close(out.weights.sum(-1), torch.ones(B, T))
    torch.testing.assert_close(out.context, out.weights @ memory)


def test_modules_hold_no_state_between_calls():
    attn = build_attention("bahdanau", 4, 6)
    before = {k: v.clone() for k, v in attn.state_dict().items()}
    memory = torch.randn(2, 3, 6)
    attn(torch.randn(2, 1, 4), attn.keys(memory), memory, torch.ones(2, 3, dtype=torch.bool))
    assert set(attn.state_dict()) == set(before)
    assert not [k for k in vars(attn) if isinstance(getattr(attn, k), torch.Tensor)]


def test_bf16_products_of_a_cast_model_run_in_fp32_and_autocast_keeps_torchs():
    """A model cast to bf16 (decoding) multiplies attention in fp32 and rounds once to bf16;
    under autocast (training) the product is torch's bf16 one."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 5, 64, generator=g), torch.randn(4, 64, 9, generator=g)
    got = _bmm(a.bfloat16(), b.bfloat16())
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, torch.bmm(a.bfloat16().float(), b.bfloat16().float()).bfloat16())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(_bmm(a.bfloat16(), b.bfloat16()), torch.bmm(a.bfloat16(), b.bfloat16()))
    assert torch.equal(_bmm(a, b), torch.bmm(a, b))
