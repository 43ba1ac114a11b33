"""Encoder: nn.GRU arguments from config, shapes as nn.GRU documents them, layouts, padding."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from modelling import V_SRC, build, model_config, random_batch
from torch.nn.utils.rnn import pack_padded_sequence

from seq2seq.model.encoder import Encoder

GRU_ARGS = {
    "input_size": 24,
    "hidden_size": 20,
    "num_layers": 3,
    "bias": False,
    "batch_first": False,
    "dropout": 0.25,
    "bidirectional": False,
}


@pytest.mark.parametrize("arg,value", GRU_ARGS.items())
def test_each_encoder_gru_argument_reaches_nn_gru(arg, value):
    cfg = model_config(f"model.encoder.gru.{arg}={str(value).lower()}")
    gru = build(cfg).encoder.gru
    assert getattr(gru, arg) == value
    assert dataclasses.asdict(cfg.encoder.gru) == {a: getattr(gru, a) for a in GRU_ARGS}
    default = build(model_config()).encoder.gru
    assert getattr(default, arg) != value
    if arg == "bias":
        assert not any("bias" in n for n, _ in gru.named_parameters())
    if arg == "input_size":
        assert build(cfg).encoder.embed.embedding_dim == 24


@pytest.mark.parametrize(
    "batch_first,bidirectional,num_layers",
    itertools.product([True, False], [True, False], [1, 2, 3]),
)
def test_shapes_as_nn_gru_documents_them(batch_first, bidirectional, num_layers):
    cfg = model_config(
        f"model.encoder.gru.batch_first={str(batch_first).lower()}",
        f"model.encoder.gru.bidirectional={str(bidirectional).lower()}",
        f"model.encoder.gru.num_layers={num_layers}",
    )
    enc = Encoder(cfg.encoder, V_SRC, 0).eval()
    src, lengths, _ = random_batch([5, 3, 4])
    B, S = src.shape
    D, H = 2 if bidirectional else 1, cfg.encoder.gru.hidden_size
    out = enc(src, lengths)
    assert out.outputs.shape == ((B, S, D * H) if batch_first else (S, B, D * H))
    assert out.h_n.shape == (num_layers * D, B, H)
    # a given h_0 is honoured: the same as nn.GRU run directly with it
    h_0 = torch.randn(num_layers * D, B, H)
    with_h0 = enc(src, lengths, h_0)
    x = enc.embed(src) if batch_first else enc.embed(src).transpose(0, 1)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    _, h_n_direct = enc.gru(packed, h_0)
    torch.testing.assert_close(with_h0.h_n, h_n_direct)
    assert not torch.allclose(with_h0.h_n, out.h_n)


def test_outputs_are_zero_after_each_length():
    enc = Encoder(model_config().encoder, V_SRC, 0).eval()
    src, lengths, _ = random_batch([6, 2])
    out = enc(src, lengths).outputs
    assert out[1, 2:].abs().max() == 0 and out[1, :2].abs().min() > 0


def test_padding_invariance_of_encoder_states():
    cfg = model_config("model.encoder.gru.num_layers=2")
    enc = Encoder(cfg.encoder, V_SRC, 0).eval()
    src, lengths, _ = random_batch([4, 9, 7])
    batch = enc(src, lengths)
    alone = enc(src[:1, :4], lengths[:1])
    torch.testing.assert_close(batch.outputs[:1, :4], alone.outputs, atol=1e-5, rtol=0)
    torch.testing.assert_close(batch.h_n[:, :1], alone.h_n, atol=1e-5, rtol=0)
