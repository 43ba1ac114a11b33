"""Bridge: encoder h_n to decoder h_0 for mismatched layers, directions and sizes."""

from __future__ import annotations

import pytest
import torch

from seq2seq.model.bridge import Bridge


@pytest.mark.parametrize(
    "L_enc,D,H_enc,L_dec,H_dec",
    [(2, 2, 8, 2, 16), (3, 2, 8, 1, 5), (1, 2, 8, 3, 16), (2, 1, 8, 4, 8), (1, 1, 7, 1, 13)],
)
def test_linear_bridge_shapes_and_layer_order(L_enc, D, H_enc, L_dec, H_dec):
    bridge = Bridge(
        "linear",
        enc_layers=L_enc,
        directions=D,
        enc_hidden=H_enc,
        dec_layers=L_dec,
        dec_hidden=H_dec,
    )
    B = 3
    h_n = torch.randn(L_enc * D, B, H_enc)
    h_0 = bridge(h_n)
    assert h_0.shape == (L_dec, B, H_dec) and h_0.is_contiguous()
    assert h_0.abs().max() < 1  # tanh
    # sentence b's h_0 depends on sentence b's h_n only, taken in nn.GRU's (layer, direction) order
    joined = h_n.view(L_enc, D, B, H_enc)[:, :, 1].reshape(-1)
    expected = torch.tanh(bridge.linear(joined)).view(L_dec, H_dec)
    torch.testing.assert_close(h_0[:, 1], expected)


def test_zero_bridge():
    bridge = Bridge("zero", enc_layers=2, directions=2, enc_hidden=4, dec_layers=3, dec_hidden=6)
    assert bridge(torch.randn(4, 5, 4)).abs().sum() == 0
    assert bridge(torch.randn(4, 5, 4)).shape == (3, 5, 6)
    assert list(bridge.parameters()) == []
