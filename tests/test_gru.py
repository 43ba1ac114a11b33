"""nn.GRU from config: built silently; one step of it (gru_step) as nn.GRU computes it; a dropout
that a one-layer GRU never applies is named."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from seq2seq.config import GRUConfig, ModelConfig
from seq2seq.model.gru import build_gru, gru_step, idle_dropout


def test_a_one_layer_gru_with_dropout_builds_without_torchs_warning():
    cfg = GRUConfig(input_size=4, hidden_size=3, num_layers=1, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gru = build_gru(cfg)
    assert (gru.input_size, gru.hidden_size, gru.num_layers, gru.dropout) == (4, 3, 1, 0.5)


def test_idle_dropout_names_each_one_layer_gru_with_dropout():
    model = ModelConfig()
    model.encoder.gru = dataclasses.replace(model.encoder.gru, num_layers=2, dropout=0.3)
    model.decoder.gru = dataclasses.replace(model.decoder.gru, num_layers=1, dropout=0.25)
    model.decoder.gru2 = dataclasses.replace(model.decoder.gru2, num_layers=1, dropout=0.1)
    assert idle_dropout(model) == [
        "model.decoder.gru.dropout=0.25 does nothing with model.decoder.gru.num_layers=1: "
        "nn.GRU applies dropout between its stacked layers only"]
    model.decoder.type = "cgru"  # gru2 is built only then
    assert [line.split(" ")[0] for line in idle_dropout(model)] == [
        "model.decoder.gru.dropout=0.25", "model.decoder.gru2.dropout=0.1"]
    model.decoder.gru = dataclasses.replace(model.decoder.gru, dropout=0.0)
    model.encoder.gru = dataclasses.replace(model.encoder.gru, num_layers=1)
    assert [line.split(" ")[0] for line in idle_dropout(model)] == [
        "model.encoder.gru.dropout=0.3", "model.decoder.gru2.dropout=0.1"]


def test_int8_rebuilds_a_one_layer_gru_with_dropout_without_warnings():
    from torch import nn

    from seq2seq.decoding.loading import quantize_int8

    gru = build_gru(GRUConfig(input_size=4, hidden_size=3, num_layers=1, dropout=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantized = quantize_int8(nn.Sequential(gru))
    assert type(quantized[0]).__module__.startswith("torch.ao.nn.quantized.dynamic")


def _gru(layers: int, bias: bool, dropout: float = 0.0):
    import torch

    torch.manual_seed(0)
    return build_gru(GRUConfig(input_size=6, hidden_size=5, num_layers=layers, bias=bias,
                               dropout=dropout, batch_first=False))


@pytest.mark.parametrize("layers,bias", [(1, True), (2, True), (3, False)])
@pytest.mark.parametrize("autocast", [False, True])
def test_gru_step_gives_nn_grus_numbers_and_gradients(layers, bias, autocast):
    import torch

    gru = _gru(layers, bias)
    x = torch.randn(4, 6, requires_grad=True)
    h = torch.randn(layers, 4, 5, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out, h_n = gru(x.unsqueeze(0), h)
        top, hidden = gru_step(gru, x, h)
    assert torch.equal(top, out[0]) and torch.equal(hidden, h_n)
    grads = torch.autograd.grad((out * 2).sum() + h_n.sum(), [x, h, *gru.parameters()])
    mine = torch.autograd.grad((top * 2).sum() + hidden.sum(), [x, h, *gru.parameters()])
    for a, b in zip(grads, mine, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_gru_step_drops_out_between_layers_in_training_only():
    import torch

    gru = _gru(2, True, dropout=0.9999)  # drops all but 6 of 65,536
    x, h = torch.randn(300, 6), torch.randn(2, 300, 5)
    top, hidden = gru_step(gru, x, h)
    bottom = torch.gru_cell(x, h[0], gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0,
                            gru.bias_hh_l0)
    assert torch.equal(hidden[0], bottom)  # the input of the first layer is not dropped
    silent = torch.gru_cell(torch.zeros_like(bottom), h[1], gru.weight_ih_l1, gru.weight_hh_l1,
                            gru.bias_ih_l1, gru.bias_hh_l1)
    assert (top == silent).all(dim=1).float().mean() > 0.97  # rows whose input was all dropped
    gru.eval()
    out, h_n = gru(x.unsqueeze(0), h)
    top, hidden = gru_step(gru, x, h)
    assert torch.equal(top, out[0]) and torch.equal(hidden, h_n)
