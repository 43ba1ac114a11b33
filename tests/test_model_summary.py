"""The model summary that seq2seq-inspect prints: shapes and parameter counts match the model."""

from __future__ import annotations

import torch
from conftest import run_module
from modelling import model_config

from seq2seq.apps import InspectApp
from seq2seq.config import TokenizerConfig
from seq2seq.model.seq2seq import Seq2Seq
from seq2seq.model.summary import describe, gru_shapes


def test_inspect_output_for_the_bahdanau_config():
    proc = run_module(
        "seq2seq.inspect_model",
        "model=bahdanau",
        "model.encoder.gru.batch_first=false",
        "tokenizer.vocab_size=8000",
        "batch_size=3",
        "src_len=11",
        "tgt_len=9",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "encoder: GRU(256, 256, num_layers=2, dropout=0.2, bidirectional=True)" in out
    assert "  input  (L, N, H_in)              = (11, 3, 256)" in out
    assert "  output (L, N, D*H_out)           = (11, 3, 512)" in out
    assert "  h_n    (D*num_layers, N, H_out)  = (4, 3, 256)" in out
    assert "decoder: GRU(1280, 512, num_layers=2, batch_first=True, dropout=0.2)" in out
    assert "  input  (N, L, H_in)              = (3, 1, 1280)" in out
    assert (
        "input_size 1280 = target embedding 256 + bahdanau context 512 + previous "
        "attentional vector 512; one call per step, 9 calls"
    ) in out
    assert "-> decoder h_0 (2, 3, 512)" in out
    assert "  total               16,603,456" in out
    assert proc.stderr == ""


def test_printed_shapes_match_a_real_forward_pass():
    cfg = InspectApp(
        model=model_config("model.encoder.gru.batch_first=false", "model.encoder.gru.num_layers=3"),
        tokenizer=TokenizerConfig(vocab_size=50),
        batch_size=2,
        src_len=6,
        tgt_len=4,
    )
    model = Seq2Seq(cfg.model, src_vocab=50, tgt_vocab=50, pad_id=0)

    src = torch.randint(4, 50, (2, 6))
    enc = model.encoder(src, torch.tensor([6, 6]))
    shapes = gru_shapes(model.encoder.gru, 2, 6)
    assert tuple(enc.outputs.shape) == shapes["output"] and tuple(enc.h_n.shape) == shapes["h_n"]
    total = sum(p.numel() for p in model.parameters())
    assert f"{total:,}" in describe(cfg)


def test_three_way_tying_is_shown_and_counted_once():
    cfg = InspectApp(model=model_config("model.encoder.tie_embeddings=true",
                                        "model.encoder.gru.input_size=64"),
                     tokenizer=TokenizerConfig(vocab_size=100))
    out = describe(cfg)
    assert "source embeddings (the target embedding table, tied), packed by length" in out
    assert "  shared embedding         6,400" in out and "decoder embedding" not in out
