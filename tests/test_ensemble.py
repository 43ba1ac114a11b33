"""Ensembles: the mean of the members' probabilities, searched like one model."""

from __future__ import annotations

import pytest
import torch
from modelling import V_TGT, build, model_config, random_batch

from seq2seq.decoding.search import SearchSettings, beam_search, greedy
from seq2seq.model.ensemble import Ensemble

BAHDANAU = (
    "model.decoder.attention=bahdanau",
    "model.decoder.input_feeding=true",
    "model.decoder.gru.input_size=192",
    "model.decoder.tie_embeddings=false",
)
SETTINGS = SearchSettings(bos=1, eos=2, beam_size=4, max_len_a=1.0, max_len_b=6, attention=True)


def _hyps(model, search):
    src, lengths, _ = random_batch([5, 3, 7, 4], seed=3)
    with torch.inference_mode():
        return search(model, src, lengths, SETTINGS)


@pytest.mark.parametrize("search", [greedy, beam_search])
@pytest.mark.parametrize("copies", [1, 2])
def test_one_model_alone_or_twice_decodes_as_itself(search, copies):
    model = build(model_config())
    alone, ensemble = _hyps(model, search), _hyps(Ensemble([model] * copies), search)
    for a, e in zip(alone, ensemble, strict=True):
        assert [h.tokens for h in a] == [h.tokens for h in e]
        assert [h.score for h in a] == pytest.approx([h.score for h in e], abs=1e-5)
        torch.testing.assert_close(a[0].attention, e[0].attention, atol=1e-6, rtol=0)


def test_a_step_gives_the_log_of_the_mean_probability():
    a, b = build(model_config(), seed=0), build(model_config(*BAHDANAU), seed=1)
    ensemble = Ensemble([a, b])
    src, lengths, tgt = random_batch([5, 3, 7], seed=2)
    with torch.inference_mode():
        memory, state = ensemble.encode(src, lengths)
        got, state, weights = ensemble.step_log_probs(tgt[:, 0], state, memory)
        again, _, _ = ensemble.step_log_probs(tgt[:, 1], state, memory)
        expected, expected_weights, later = [], [], []
        for m in (a, b):
            mem, st = m.encode(src, lengths)
            lp, st, w = m.step_log_probs(tgt[:, 0], st, mem)
            expected.append(lp.exp())
            expected_weights.append(w)
            later.append(m.step_log_probs(tgt[:, 1], st, mem)[0].exp())
    assert got.shape == (3, V_TGT) and weights.shape == (3, 7)
    torch.testing.assert_close(got.exp(), (expected[0] + expected[1]) / 2)
    torch.testing.assert_close(again.exp(), (later[0] + later[1]) / 2)  # each state carried on
    torch.testing.assert_close(got.exp().sum(-1), torch.ones(3))
    torch.testing.assert_close(weights, (expected_weights[0] + expected_weights[1]) / 2)
    assert float(weights[1, 3:].abs().sum()) == 0.0  # no attention on padding


@pytest.mark.parametrize("search", [greedy, beam_search])
def test_members_of_different_layouts_search_alike_batched_or_alone(search):
    """Retiring finished sentences and reordering beams selects every member's state alike."""
    ensemble = Ensemble([build(model_config(), seed=0), build(model_config(*BAHDANAU), seed=1)])
    src, lengths, _ = random_batch([5, 3, 7, 4], seed=3)
    with torch.inference_mode():
        batched = search(ensemble, src, lengths, SETTINGS)
        for row, hyps in enumerate(batched):
            n = int(lengths[row])
            alone = search(ensemble, src[row : row + 1, :n], lengths[row : row + 1], SETTINGS)[0]
            assert [h.tokens for h in hyps] == [h.tokens for h in alone]
            assert [h.score for h in hyps] == pytest.approx([h.score for h in alone], abs=1e-5)
            assert all(len(h.tokens) <= n - 1 + 6 for h in hyps)  # max_len_a 1, max_len_b 6


def test_an_empty_ensemble_is_refused():
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])
