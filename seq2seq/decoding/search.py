"""Greedy and batched beam search over a batch of sentences.

Beams are folded into the batch dimension of the decoder state (B*K rows) and share their
sentence's row of the encoder memory (B rows); a sentence whose search has ended is
retired from the batch at once, so later steps only run the sentences still being searched.
Scores are sums of log-probabilities divided by the GNMT length penalty ((5 + n) / 6) ** alpha,
where n counts the generated tokens including EOS. A hypothesis holds at most max_len tokens
before its EOS, max_len = floor(max_len_a * source_length + max_len_b) per sentence, and at
least min(min_len, max_len): a min_len above a sentence's cap yields hypotheses of the cap.

Beam search keeps the beam_size best unfinished hypotheses of each sentence and stops that
sentence once beam_size hypotheses have finished (or its cap is reached); the n_best best of the
finished ones, by penalised score, are returned. A finished short hypothesis is therefore never
displaced by longer ones that would only have finished later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from seq2seq.decoding.selection import grouped_topk, row_argmax
from seq2seq.model.ensemble import Decodable


@dataclass(frozen=True)
class SearchSettings:
    bos: int
    eos: int
    beam_size: int = 5
    length_penalty: float = 1.0
    max_len_a: float = 1.5
    max_len_b: int = 10
    min_len: int = 0
    n_best: int = 1
    attention: bool = False  # also return each hypothesis's attention weights


@dataclass
class Hypothesis:
    tokens: list[int]  # without BOS and EOS
    score: float  # normalised log-probability
    attention: torch.Tensor | None  # (len(tokens) + 1, S) over the sentence's real source tokens


def length_penalty(n: int | torch.Tensor, alpha: float):
    """GNMT: ((5 + n) / 6) ** alpha."""
    return ((5.0 + n) / 6.0) ** alpha


def max_lengths(src_lengths: torch.Tensor, settings: SearchSettings) -> torch.Tensor:
    """(B,) longest hypotheses allowed, from source lengths counting their EOS."""
    source = (src_lengths - 1).double()
    return (settings.max_len_a * source + settings.max_len_b).floor().long()


def _constrain(logp: torch.Tensor, t: int, row_max: torch.Tensor, settings: SearchSettings) -> None:
    """In place: no EOS before min(min_len, the row's max length); only EOS once a row reached
    its max length."""
    if t < settings.min_len:
        early = row_max > t  # rows whose cap is still ahead; at the cap EOS is allowed
        logp[:, settings.eos] = torch.where(early, -math.inf, logp[:, settings.eos])
    full = row_max <= t
    if bool(full.any()):
        eos = logp[:, settings.eos].clone()
        logp[full] = -math.inf
        logp[:, settings.eos] = torch.where(full, eos, logp[:, settings.eos])


def _trim(weights: torch.Tensor, length: int) -> torch.Tensor:
    return weights[:, :length].float().cpu()


def greedy(
    model: Decodable, src: torch.Tensor, src_lengths: torch.Tensor, settings: SearchSettings
) -> list[list[Hypothesis]]:
    """Argmax decoding of src (B, S) -> per sentence a list with one hypothesis."""
    B = src.shape[0]
    memory, state = model.encode(src, src_lengths)
    limits = max_lengths(src_lengths, settings).to(src.device)
    active = torch.arange(B, device=src.device)
    tokens = torch.full((B,), settings.bos, dtype=torch.long, device=src.device)
    history = tokens.new_empty(B, 0)
    attn_history = []
    scores = torch.zeros(B, device=src.device)
    results: list[list[Hypothesis]] = [[] for _ in range(B)]
    t, logp = 0, None  # logp: the last step's block, which the next one reuses
    while active.numel():
        logp, state, weights = model.step_log_probs(tokens, state, memory, out=logp)
        _constrain(logp, t, limits[active], settings)
        tokens = row_argmax(logp)
        scores = scores + logp.gather(1, tokens.unsqueeze(1)).squeeze(1)
        history = torch.cat([history, tokens.unsqueeze(1)], dim=1)
        if settings.attention:
            attn_history.append(weights)
        t += 1
        ended = tokens == settings.eos
        if not bool(ended.any()):
            continue
        attn = torch.stack(attn_history, dim=1) if settings.attention else None
        for row in ended.nonzero().flatten().tolist():
            sentence = int(active[row])
            n = int(src_lengths[sentence])
            results[sentence].append(
                Hypothesis(
                    tokens=history[row, :-1].tolist(),
                    score=float(scores[row]) / length_penalty(t, settings.length_penalty),
                    attention=_trim(attn[row], n) if attn is not None else None,
                )
            )
        keep = (~ended).nonzero().flatten()
        active, tokens, scores = active[keep], tokens[keep], scores[keep]
        history = history.index_select(0, keep)
        attn_history = [w.index_select(0, keep) for w in attn_history]
        state, memory = state.select(keep), memory.select(keep)
    return results


def _best_candidates(
    scores: torch.Tensor, logp: torch.Tensor, count: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """scores (N, W) of the live beams, logp (N * W, V) of their continuations -> each
    sentence's count best candidates (N, count) of its W * V: scores, row of origin in logp,
    token."""
    N, W = scores.shape
    top_scores, beam, token = grouped_topk(logp.view(N, W, -1), scores,
                                           min(count, logp.numel() // N))
    return top_scores, beam + torch.arange(N, device=scores.device).unsqueeze(1) * W, token


def beam_search(
    model: Decodable, src: torch.Tensor, src_lengths: torch.Tensor, settings: SearchSettings
) -> list[list[Hypothesis]]:
    """Beam search of src (B, S) -> per sentence its n_best hypotheses, best first."""
    (B, K), device = (src.shape[0], settings.beam_size), src.device
    memory, state = model.encode(src, src_lengths)  # memory keeps one row per sentence
    limits = max_lengths(src_lengths, settings).to(device)
    active = torch.arange(B, device=device)  # sentence of each block of rows
    # one beam per sentence at the first step (all K would be equal); K from the second on
    scores = torch.zeros(B, 1, device=device)
    history = torch.full((B, 1), settings.bos, dtype=torch.long, device=device)
    attn_history, logp = None, None  # logp: the last step's block, which the next one reuses
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    for t in range(int(limits.max()) + 1):
        logp, state, weights = model.step_log_probs(history[:, -1], state, memory, out=logp)
        _constrain(logp, t, limits[active].repeat_interleave(scores.shape[1]), settings)
        top_scores, origin, token = _best_candidates(scores, logp, 2 * K)
        is_eos = token == settings.eos
        if settings.attention:
            step = weights.unsqueeze(1)
            attn_history = step if attn_history is None else torch.cat([attn_history, step], 1)
        # an EOS among the K best candidates ends a hypothesis
        for r, j in (is_eos[:, :K] & top_scores[:, :K].isfinite()).nonzero().tolist():
            sentence, o = int(active[r]), int(origin[r, j])
            if len(finished[sentence]) < K:
                finished[sentence].append(Hypothesis(
                    tokens=history[o, 1:].tolist(),
                    score=float(top_scores[r, j]) / length_penalty(t + 1, settings.length_penalty),
                    attention=None if attn_history is None
                    else _trim(attn_history[o], int(src_lengths[sentence])),
                ))
        # the K best candidates that do not end carry on
        alive_scores, pick = top_scores.masked_fill(is_eos, -math.inf).topk(K, dim=-1)
        parents = origin.gather(1, pick).flatten()
        scores = alive_scores
        history = torch.cat(
            [history.index_select(0, parents), token.gather(1, pick).reshape(-1, 1)], dim=1)
        state = state.select(parents)
        if attn_history is not None:
            attn_history = attn_history.index_select(0, parents)
        done = torch.tensor([len(finished[int(s)]) >= K for s in active], device=device) | (
            limits[active] <= t
        )
        if bool(done.any()):
            keep = (~done).nonzero().flatten()
            rows = (keep.unsqueeze(1) * K + torch.arange(K, device=device)).flatten()
            active, scores = active[keep], scores[keep]
            history = history.index_select(0, rows)
            state, memory = state.select(rows), memory.select(keep)
            if attn_history is not None:
                attn_history = attn_history.index_select(0, rows)
        if not active.numel():
            break
    return [sorted(f, key=lambda h: -h.score)[: settings.n_best] for f in finished]


def search(
    model: Decodable,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    settings: SearchSettings,
    strategy: str,
) -> list[list[Hypothesis]]:
    """Greedy or beam search, by decode.strategy."""
    if strategy == "greedy":
        return greedy(model, src, src_lengths, settings)
    return beam_search(model, src, src_lengths, settings)
