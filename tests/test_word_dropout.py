"""Word dropout: whole embedding rows dropped in training, nothing in eval or at p = 0."""

from __future__ import annotations

import pytest
import torch
from modelling import build, model_config, random_batch

from seq2seq.model.word_dropout import WordDropout


def test_each_position_is_dropped_whole_or_kept_scaled():
    torch.manual_seed(0)
    emb = torch.randn(8, 50, 16)
    out = WordDropout(0.25).train()(emb)
    dropped = (out == 0).all(-1)  # (B, T): whole rows
    assert not (out[~dropped] == 0).any()
    torch.testing.assert_close(out[~dropped], emb[~dropped] / 0.75)
    assert 0.18 < dropped.float().mean().item() < 0.32  # 400 rows at p = 0.25


def test_eval_mode_and_p_zero_return_the_input_without_drawing_random_numbers():
    emb = torch.randn(2, 3, 4)
    state = torch.get_rng_state()
    assert WordDropout(0.5).eval()(emb) is emb
    assert WordDropout(0.0).train()(emb) is emb
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("part", ["encoder", "decoder"])
@pytest.mark.parametrize("fast_path", [True, False])
def test_the_model_drops_words_in_training_only(part, fast_path):
    """The tiny model has no other dropout, so training and eval mode agree unless word
    dropout acts (on the fast path and in the step loop alike)."""
    src, lengths, tgt = random_batch([5, 3, 4], seed=3)
    plain = build(model_config())
    dropping = build(model_config(f"model.{part}.word_dropout=0.5"))
    assert getattr(dropping, part).word_dropout.p == 0.5
    logits = {}
    for name, model in (("plain", plain), ("dropping", dropping)):
        for mode in ("train", "eval"):
            getattr(model, mode)()
            torch.manual_seed(1)
            logits[name, mode] = model(src, lengths, tgt, fast_path=fast_path).logits
    torch.testing.assert_close(logits["plain", "train"], logits["plain", "eval"])
    torch.testing.assert_close(logits["dropping", "eval"], logits["plain", "eval"])
    assert (logits["dropping", "train"] - logits["dropping", "eval"]).abs().max() > 1e-3
