"""Dropout from 16-bit draws: nn.Dropout's keep rate, scale, gradient and eval behaviour."""

from __future__ import annotations

import pytest
import torch

from seq2seq.model.dropout import SPAN, Dropout, keep_mask

N = 1 << 20


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_the_mask_keeps_one_minus_p_of_the_elements_in_every_lane(p):
    torch.manual_seed(0)
    mask = keep_mask(torch.empty(N), p)
    assert mask.dtype == torch.bool and mask.shape == (N,)
    # binomial standard deviation of a lane's rate: sqrt(p (1 - p) / (N / 4)) < 0.001
    for lane in range(4):  # each 16-bit quarter of the 64-bit words (a sign bit stuck at 0 fails)
        assert mask[lane::4].float().mean().item() == pytest.approx(1 - p, abs=0.005)
    # neighbours are independent: both kept as often as (1 - p)^2
    assert (mask[1:] & mask[:-1]).float().mean().item() == pytest.approx((1 - p) ** 2, abs=0.005)


def test_kept_elements_are_scaled_so_the_expectation_is_the_input():
    torch.manual_seed(0)
    x = torch.ones(N, requires_grad=True)
    y = Dropout(0.3).train()(x)
    kept = y[y != 0]
    scale = SPAN / (SPAN - round(0.3 * SPAN))
    assert torch.all(kept == torch.tensor(scale))
    assert y.mean().item() == pytest.approx(1.0, abs=0.005)
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())  # d y / d x: the mask times the scale


def test_eval_mode_and_p_zero_return_the_input_and_draw_nothing():
    x = torch.randn(3, 4)
    state = torch.get_rng_state()
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    assert torch.equal(torch.get_rng_state(), state)


def test_masks_follow_the_torch_seed_and_keep_the_dtype():
    x = torch.randn(5, 7, 16, dtype=torch.bfloat16)
    drop = Dropout(0.4).train()
    torch.manual_seed(3)
    a = drop(x)
    torch.manual_seed(3)
    b = drop(x)
    c = drop(x)
    assert a.dtype == torch.bfloat16 and a.shape == x.shape
    assert torch.equal(a, b) and not torch.equal(b, c)
