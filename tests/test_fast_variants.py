"""Fast variants decode like plain fp32: int8 dynamic quantisation, bf16 and fp16 autocast agree
with fp32 on most sentences of a val slice; the fast path equals the step loop
(test_seq2seq.py)."""

from __future__ import annotations

import torch

from seq2seq.decoding.loading import quantize_int8
from seq2seq.decoding.search import SearchSettings
from seq2seq.decoding.translation import translate_ids

N = 100


def _greedy(model, tok, src, autocast=None):
    settings = SearchSettings(bos=tok.special.bos, eos=tok.special.eos)
    with autocast or torch.autocast("cpu", enabled=False):
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
    bf16 = _greedy(model, tok, src[:N], torch.autocast("cpu", dtype=torch.bfloat16))
    fp16 = _greedy(model, tok, src[:N], torch.autocast("cpu", dtype=torch.float16))
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
