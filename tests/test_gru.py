"""nn.GRU from config: built silently; a dropout that a one-layer GRU never applies is named."""

from __future__ import annotations

import dataclasses
import warnings

from seq2seq.config import GRUConfig, ModelConfig
from seq2seq.model.gru import build_gru, idle_dropout


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
