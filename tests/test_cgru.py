"""seq2seq.model.cgru: the conditional GRU decoder computes what Nematus's cGRU does, from two
config-built nn.GRUs, and trains, resumes, searches, ensembles and quantises like the others."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import run_module
from modelling import build, model_config, random_batch
from training import train_config

from seq2seq.decoding.loading import open_model
from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError
from seq2seq.training.run import run_training

CGRU = ["model.decoder.type=cgru", "model.decoder.gru2.input_size=64",
        "model.decoder.gru2.hidden_size=64"]


def test_each_step_is_gru_then_attention_then_gru2():
    model = build(model_config(*CGRU, "model.decoder.gru.num_layers=2",
                               "model.decoder.gru2.num_layers=2"))
    dec = model.decoder
    assert isinstance(dec.gru2, torch.nn.GRU) and dec.gru2.input_size == 64
    src, lengths, tgt_in = random_batch([5, 3, 4], T=4)
    with torch.no_grad():
        logits = model(src, lengths, tgt_in).logits  # (B, T, V)
        memory, state = model.encode(src, lengths)
        s = state.hidden  # (L, B, H)
        for t in range(tgt_in.shape[1]):
            out1, h1 = dec.gru(dec.embed(tgt_in[:, t : t + 1]), s)  # s'_t
            att = dec.attention(out1, memory.keys, memory.values, memory.mask)
            out2, s = dec.gru2(att.context, h1)  # s_t from the context
            o = torch.tanh(dec.combine(torch.cat([out2, att.context], -1)))
            torch.testing.assert_close(dec.output(o)[:, 0], logits[:, t])


@pytest.mark.parametrize("change, says", [
    ("model.decoder.gru2.hidden_size=32", "model.decoder.gru2.hidden_size=32: the cgru decoder "
     "needs 64 (model.decoder.gru.hidden_size)"),
    ("model.decoder.gru2.input_size=32", "model.decoder.gru2.input_size=32: the cgru decoder "
     "needs 64 (the attention context width D*H_enc)"),
    ("model.decoder.gru2.num_layers=2", "needs 1 (model.decoder.gru.num_layers)"),
    ("model.decoder.input_feeding=true", "model.decoder.input_feeding=true: the cgru decoder"),
])
def test_inconsistent_cgru_settings_are_one_line(change, says):
    with pytest.raises(UserError, match=re.escape(says)):
        model_config(*CGRU, change)


def test_bahdanau_scoring_keeps_the_embedding_width():
    cfg = model_config(*CGRU, "model.decoder.attention=bahdanau")  # context goes to gru2 only
    assert build(cfg).decoder.embed.embedding_dim == cfg.decoder.gru.input_size == 64


def test_inspect_shows_both_transitions():
    proc = run_module("seq2seq.inspect_model", "model=cgru")
    assert proc.returncode == 0, proc.stderr
    assert "decoder gru2 (cgru transition 2): GRU(512, 512, batch_first=True)" in proc.stdout
    assert "input_size 512 = attention context c_t 512" in proc.stdout


@pytest.fixture(scope="module")
def cgru_runs(tmp_path_factory, mirror):
    tmp = tmp_path_factory.mktemp("cgru")
    runs = []
    for seed in (1, 2):
        cfg, ov = train_config(tmp, *CGRU, "train.max_steps=12", "train.max_epochs=0",
                               f"train.seed={seed}")
        run_training(cfg, tmp / f"run{seed}", ov)
        runs.append(tmp / f"run{seed}")
    return runs


def test_a_cgru_run_translates_in_every_way(cgru_runs):
    one, two = cgru_runs
    text = ["Ein Hund läuft.", "Zwei Männer spielen Fußball im Park."]
    beam = Translator.load(one, device="cpu", beam_size=3)
    first = beam.translate(text)
    assert beam.translate(text) == first and len(first) == 2
    for loaded in (open_model(one, device="cpu", quantize="int8"),
                   open_model(one, device="cpu", ensemble=[str(two)])):
        ids = loaded.tokenizer.encode_src(text)
        hyps = loaded.search(ids, beam.decode)
        assert len(hyps) == 2 and all(h[0].tokens for h in hyps)


def test_resuming_a_cgru_run_as_a_gru_run_is_refused(cgru_runs, tmp_path):
    cfg, ov = train_config(tmp_path, "model.decoder.type=gru", f"train.resume={cgru_runs[0]}",
                           "train.max_steps=20")
    with pytest.raises(UserError, match="model.decoder.type=gru .checkpoint: cgru."):
        run_training(cfg, tmp_path / "other", ov)
