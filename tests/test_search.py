"""Greedy and batched beam search on a briefly trained Multi30k model."""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest
import torch
from modelling import build, model_config, random_batch

from seq2seq.decoding import selection
from seq2seq.decoding.search import (
    SearchSettings,
    beam_search,
    greedy,
    length_penalty,
    max_lengths,
)
from seq2seq.decoding.translation import translate_ids

N = 200


def _settings(tokenizer, **kw) -> SearchSettings:
    return SearchSettings(bos=tokenizer.special.bos, eos=tokenizer.special.eos, **kw)


def _run(model, tokenizer, src_ids, strategy, batch_size, **kw):
    return translate_ids(
        model,
        src_ids,
        settings=_settings(tokenizer, **kw),
        strategy=strategy,
        batch_size=batch_size,
        pad_id=tokenizer.special.pad,
    )


def test_beam_size_one_is_greedy(trained_model):
    model, tok, src, _ = trained_model
    g = _run(model, tok, src[:N], "greedy", 50)
    b = _run(model, tok, src[:N], "beam", 50, beam_size=1)
    assert [h[0].tokens for h in g] == [h[0].tokens for h in b]
    assert all(abs(x[0].score - y[0].score) < 1e-6 for x, y in zip(g, b, strict=True))


@pytest.mark.parametrize("strategy,beam", [("greedy", 1), ("beam", 5)])
def test_batch_invariance(trained_model, strategy, beam):
    model, tok, src, _ = trained_model
    batched = _run(model, tok, src[:N], strategy, 64, beam_size=beam)
    alone = [_run(model, tok, [s], strategy, 1, beam_size=beam)[0] for s in src[:N]]
    differ = [i for i in range(N) if batched[i][0].tokens != alone[i][0].tokens]
    print(f"{strategy}: {len(differ)} of {N} sentences differ alone vs in a batch")
    assert len(differ) <= N // 100
    for i in set(range(N)) - set(differ):
        assert abs(batched[i][0].score - alone[i][0].score) < 1e-4


@torch.no_grad()
def _reference_beam(model, src_ids: list[int], settings: SearchSettings):
    """One sentence's beam search as the module docstring states it, by scoring all K x V
    candidates of every step (no pruning, no batching), min_len 0."""
    K, eos = settings.beam_size, settings.eos
    src = torch.tensor([src_ids + [eos]])
    memory, state = model.encode(src, torch.tensor([src.shape[1]]))
    zeros = torch.zeros(K, dtype=torch.long)
    memory, state = memory.select(zeros), state.select(zeros)
    cap = int(max_lengths(torch.tensor([src.shape[1]]), settings)[0])
    beams = [([], 0.0)] + [([], -math.inf)] * (K - 1)
    finished = []
    for t in range(cap + 1):
        tokens = torch.tensor([h[-1] if h else settings.bos for h, _ in beams])
        logp, state, _ = model.step_log_probs(tokens, state, memory)
        scores = torch.tensor([s for _, s in beams]).unsqueeze(1) + logp.double()
        if t >= cap:  # only EOS at the cap
            scores[:, torch.arange(scores.shape[1]) != eos] = -math.inf
        flat = scores.flatten()
        alive = []
        for rank, index in enumerate(flat.argsort(descending=True)[: 2 * K].tolist()):
            k, token, score = *divmod(index, scores.shape[1]), float(flat[index])
            if token != eos:
                alive.append((k, token, score))
            elif rank < K and score > -math.inf and len(finished) < K:
                n = len(beams[k][0]) + 1
                finished.append((beams[k][0], score / length_penalty(n, settings.length_penalty)))
        if len(finished) >= K or t >= cap:
            break
        alive = alive[:K]
        state = state.select(torch.tensor([k for k, _, _ in alive]))
        beams = [(beams[k][0] + [token], score) for k, token, score in alive]
    return sorted(finished, key=lambda f: -f[1])[: settings.n_best]


@pytest.mark.parametrize("block", [64, 1000])
def test_beam_search_equals_scoring_every_candidate(trained_model, monkeypatch, block):
    """The batched search, which ranks each sentence's K * V candidates through the maxima of
    blocks of 64 tokens (seq2seq.decoding.selection), finds what the plain search over all
    K x V candidates finds; with blocks of 1,000 the 500-token vocabulary has none, and
    torch.topk ranks every candidate."""
    monkeypatch.setattr(selection, "BLOCK", block)
    model, tok, src, _ = trained_model
    settings = _settings(tok, beam_size=5, n_best=3, length_penalty=1.0)
    batched = _run(model, tok, src[:40], "beam", 16, beam_size=5, n_best=3)
    for s, nbest in zip(src[:40], batched, strict=True):
        expected = _reference_beam(model, s, settings)
        assert [h.tokens for h in nbest] == [tokens for tokens, _ in expected]
        assert [h.score for h in nbest] == pytest.approx([sc for _, sc in expected], abs=1e-4)


def test_beam_search_expands_one_beam_per_sentence_at_the_first_step(trained_model, monkeypatch):
    """All K beams of a sentence start equal, so the first step runs one row per sentence and
    the later ones K (until sentences end)."""
    model, tok, src, _ = trained_model
    rows = []
    step = model.step_log_probs

    def counted(tokens, state, memory, out=None):
        rows.append(tokens.shape[0])
        return step(tokens, state, memory, out=out)

    monkeypatch.setattr(model, "step_log_probs", counted)
    _run(model, tok, src[:16], "beam", 16, beam_size=5)
    assert rows[:2] == [16, 80]


def test_beam_finds_better_scores_than_greedy(trained_model):
    model, tok, src, _ = trained_model
    g = _run(model, tok, src[:N], "greedy", 64)
    b = _run(model, tok, src[:N], "beam", 64, beam_size=5)
    better_or_equal = sum(y[0].score >= x[0].score - 1e-6 for x, y in zip(g, b, strict=True))
    mean_g = sum(h[0].score for h in g) / N
    mean_b = sum(h[0].score for h in b) / N
    print(f"beam >= greedy on {better_or_equal}/{N}; mean score {mean_b:.4f} vs {mean_g:.4f}")
    assert better_or_equal >= 0.95 * N and mean_b > mean_g


def test_nbest_sorted_distinct_and_max_length(trained_model):
    model, tok, src, _ = trained_model
    hyps = _run(model, tok, src[:40], "beam", 16, beam_size=6, n_best=4, max_len_a=0.5, max_len_b=2)
    for s, nbest in zip(src[:40], hyps, strict=True):
        assert len(nbest) == 4
        scores = [h.score for h in nbest]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in nbest}) == 4
        limit = int(0.5 * len(s) + 2)
        assert all(len(h.tokens) <= limit for h in nbest)
    for strategy in ("greedy", "beam"):  # a cap that binds: every hypothesis stops at 3 tokens
        capped = _run(model, tok, src[:40], strategy, 16, beam_size=4, max_len_a=0.0, max_len_b=3)
        assert {len(h[0].tokens) for h in capped} == {3}


def test_min_length_and_empty_source(trained_model):
    model, tok, src, _ = trained_model
    for strategy in ("greedy", "beam"):
        out = _run(model, tok, [[], src[0], []], strategy, 3, beam_size=3)
        assert len(out) == 3 and all(len(h) == 1 for h in out)
        assert len(out[0][0].tokens) <= 10  # max_len_b for an empty source
        longer = _run(model, tok, [src[0]], strategy, 1, beam_size=3, min_len=12)
        assert len(longer[0][0].tokens) >= 12


def test_max_lengths_formula():
    s = SearchSettings(bos=2, eos=3, max_len_a=1.5, max_len_b=4)
    assert max_lengths(torch.tensor([1, 5, 11]), s).tolist() == [4, 10, 19]


@pytest.mark.parametrize(
    "setup",
    [
        [],
        ["model.decoder.attention=luong_dot"],
        [
            "model.decoder.attention=bahdanau",
            "model.decoder.gru.input_size=96",
            "model.decoder.tie_embeddings=false",
            "model.decoder.input_feeding=false",
        ],
        [
            "model.decoder.attention=luong_general",
            "model.decoder.input_feeding=true",
            "model.decoder.gru.input_size=128",
            "model.decoder.tie_embeddings=false",
        ],
    ],
)
def test_every_attention_and_layout_searches_alike(setup):
    a = build(model_config(*setup, "model.decoder.gru.num_layers=2"))
    b = build(
        model_config(
            *setup,
            "model.decoder.gru.num_layers=2",
            "model.encoder.gru.batch_first=false",
            "model.decoder.gru.batch_first=false",
        )
    )
    b.load_state_dict(a.state_dict())
    src, lengths, _ = random_batch([6, 3, 5])
    s = SearchSettings(bos=2, eos=3, beam_size=4, n_best=2, attention=True)
    with torch.inference_mode():
        ha, hb = beam_search(a, src, lengths, s), beam_search(b, src, lengths, s)
        ga = greedy(a, src, lengths, s)
    for x, y in zip(ha, hb, strict=True):
        assert [h.tokens for h in x] == [h.tokens for h in y]
    for row, nbest in enumerate(ha):
        for h in nbest:
            assert h.attention.shape == (len(h.tokens) + 1, int(lengths[row]))
            torch.testing.assert_close(h.attention.sum(-1), torch.ones(len(h.tokens) + 1))
    assert all(len(g) == 1 for g in ga)


@pytest.mark.parametrize("strategy,beam", [("greedy", 1), ("beam", 4)])
def test_min_len_above_a_sentences_cap_gives_hypotheses_of_the_cap(trained_model, strategy, beam):
    """min_len counts up to each sentence's cap (max_len_a * length + max_len_b): above it the
    search ends at the cap, never with an empty n-best list or filler past the cap."""
    model, tok, src, _ = trained_model
    hyps = _run(model, tok, src[:30], strategy, 8, beam_size=beam, n_best=beam,
                min_len=500, max_len_a=0.5, max_len_b=2)
    for s, nbest in zip(src[:30], hyps, strict=True):
        cap = int(0.5 * len(s) + 2)
        assert len(nbest) == beam
        assert {len(h.tokens) for h in nbest} == {cap}
        assert all(tok.special.pad not in h.tokens for h in nbest)


def test_a_larger_length_penalty_gives_longer_translations(trained_model):
    model, tok, src, _ = trained_model
    lengths = {}
    for alpha in (0.0, 2.0):
        hyps = _run(model, tok, src[:N], "beam", 50, beam_size=5, length_penalty=alpha)
        lengths[alpha] = sum(len(h[0].tokens) for h in hyps) / N
    assert lengths[2.0] > lengths[0.0] + 0.1, lengths


class _Steps(NamedTuple):
    t: torch.Tensor  # (B,) tokens generated so far

    def select(self, rows: torch.Tensor) -> _Steps:
        return _Steps(self.t[rows])


class _Scripted:
    """A model that, over the tokens pad, unk, bos, eos, a, gives at the first step P(eos) =
    P(a) = 0.5, and after that P(eos) = 0.9, P(a) = 0.1."""

    training = False

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def encode(self, src, src_lengths):
        B = src.shape[0]
        return _Steps(torch.zeros(B)), _Steps(torch.zeros(B, dtype=torch.long))

    def step_log_probs(self, tokens, state, memory, out=None):
        B = tokens.shape[0]
        first = (state.t == 0).unsqueeze(1)
        p = torch.where(first, torch.tensor([0, 0, 0, 0.5, 0.5]), torch.tensor([0, 0, 0, 0.9, 0.1]))
        return p.log().expand(B, 5), _Steps(state.t + 1), torch.ones(B, 1)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_the_length_penalty_divides_each_finished_hypothesis_by_its_own_length(alpha):
    """Hypotheses that end at different steps: [] (EOS first, n = 1) and [a] (n = 2) are scored
    as documented, log P / ((5 + n) / 6) ** alpha, and the penalty decides which is best."""
    settings = SearchSettings(bos=2, eos=3, beam_size=2, n_best=2, length_penalty=alpha)
    (nbest,) = beam_search(_Scripted(), torch.tensor([[4, 3]]), torch.tensor([2]), settings)
    expected = {(): math.log(0.5) / 1.0 ** alpha,
                (4,): (math.log(0.5) + math.log(0.9)) / (7 / 6) ** alpha}
    assert {tuple(h.tokens): h.score for h in nbest} == pytest.approx(expected)
    best = max(expected, key=expected.get)
    assert tuple(nbest[0].tokens) == best == (() if alpha == 0.0 else (4,))
