"""Fast variants decode like plain fp32: int8 dynamic quantisation and the weights in bf16 or
fp16 agree with fp32 on most sentences of a val slice; the fast path equals the step loop
(test_seq2seq.py)."""

from __future__ import annotations

import copy

import pytest
import torch
from modelling import PAD, V_SRC, build, model_config

from seq2seq.decoding.loading import at_precision, quantize_int8
from seq2seq.decoding.search import SearchSettings
from seq2seq.decoding.translation import translate_ids
from seq2seq.model.ensemble import Ensemble
from seq2seq.precision import LOW

N = 100


def _greedy(model, tok, src):
    settings = SearchSettings(bos=tok.special.bos, eos=tok.special.eos)
    hyps = translate_ids(model, src, settings=settings, strategy="greedy", batch_size=50,
                         pad_id=tok.special.pad)
    return [h[0].tokens for h in hyps]


def _agreement(a: list[list[int]], b: list[list[int]]) -> tuple[int, float]:
    """Sentences decoded identically, and the share of agreeing tokens up to the first split."""
    same = sum(x == y for x, y in zip(a, b, strict=True))
    prefix = total = 0
    for x, y in zip(a, b, strict=True):
        total += max(len(x), 1)
        for p, q in zip(x, y, strict=False):
            if p != q:
                break
            prefix += 1
    return same, prefix / total


def test_int8_bf16_and_fp16_agree_with_fp32(trained_model):
    model, tok, src, _ = trained_model
    fp32 = _greedy(model, tok, src[:N])
    int8 = _greedy(quantize_int8(model), tok, src[:N])
    bf16 = _greedy(at_precision(copy.deepcopy(model), "bf16"), tok, src[:N])
    fp16 = _greedy(at_precision(copy.deepcopy(model), "fp16"), tok, src[:N])
    for name, other in (("int8", int8), ("bf16", bf16), ("fp16", fp16)):
        same, prefix = _agreement(fp32, other)
        print(f"{name}: {same}/{N} sentences identical to fp32, {prefix:.1%} of tokens agree "
              "before the first difference")
        assert same >= 0.6 * N and prefix >= 0.8


def test_int8_quantisation_spills_no_warnings_on_users(trained_model, recwarn):
    model = trained_model[0]
    quantized = quantize_int8(model)
    assert isinstance(quantized.decoder.gru, torch.ao.nn.quantized.dynamic.GRU)
    assert [str(w.message) for w in recwarn] == []


@pytest.mark.parametrize("overrides", [
    [], ["model=bahdanau"], ["model=cgru"], ["model.decoder.attention=luong_dot"],
    ["model.encoder.gru.batch_first=false", "model.decoder.gru.batch_first=false"],
])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_every_model_kind_decodes_with_its_weights_in_low_precision(overrides, precision):
    """Beam search of a model (and of an ensemble of two) cast to bf16 or fp16 runs through
    without an fp32 tensor meeting a low-precision weight, with fp32 scores; its attention rows
    still sum to 1."""
    dtype = LOW[precision]
    one = at_precision(build(model_config(*overrides)), precision)
    pair = at_precision(Ensemble([build(model_config(*overrides), seed=s) for s in (0, 1)]),
                        precision)
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, V_SRC, (6, 7), generator=g).tolist()
    settings = SearchSettings(bos=1, eos=2, beam_size=3, max_len_b=5, attention=True)
    for model in (one, pair):
        assert {p.dtype for p in model.parameters()} == {dtype}
        hyps = translate_ids(model, src, settings=settings, strategy="beam", batch_size=4,
                             pad_id=PAD)
        assert len(hyps) == 6
        for (best, *_) in hyps:
            assert isinstance(best.score, float) and best.score < 0
            assert best.attention.dtype == torch.float32
            torch.testing.assert_close(best.attention.sum(-1),
                                       torch.ones(len(best.tokens) + 1), atol=2e-2, rtol=0)
