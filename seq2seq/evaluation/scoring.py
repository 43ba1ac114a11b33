"""Corpus scores from sacrebleu on detokenised text, with sacrebleu's signatures."""

from __future__ import annotations

from dataclasses import dataclass

from sacrebleu.metrics import BLEU, CHRF, TER


@dataclass
class Score:
    name: str
    score: float
    signature: str
    text: str  # sacrebleu's own one-line rendering


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU (sacrebleu defaults: 13a tokenisation, cased)."""
    return BLEU(force=True).corpus_score(hypotheses, [references]).score


def all_scores(hypotheses: list[str], references: list[str]) -> list[Score]:
    """BLEU, lowercased BLEU, chrF and TER, each with its signature."""
    metrics = {
        "BLEU": BLEU(force=True),
        "BLEU_lowercased": BLEU(force=True, lowercase=True),
        "chrF2": CHRF(),
        "TER": TER(),
    }
    scores = []
    for name, metric in metrics.items():
        result = metric.corpus_score(hypotheses, [references])
        signature = str(metric.get_signature())
        scores.append(Score(name, result.score, signature, f"{result} {signature}"))
    return scores
