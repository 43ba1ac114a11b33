"""Validation BLEU against training minutes for trained runs, from their metrics.jsonl: a
Markdown table of every validation, then per run the minutes and step at which it first reaches
each threshold and the median of its logged training rates (target tokens/s; unlike minutes,
it is not stretched by a pause, e.g. a job stopped while another ran).

    python scripts/time_to_quality.py RUN_DIR [RUN_DIR ...] [--thresholds 30,35]

The BLEU is the one the run validated with (its `decode`, greedy by default); the minutes are
its training time (`elapsed_s` of the validation record: over resumed sessions, validations
included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from seq2seq.training.metrics import read


def records(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    if not path.is_file():
        sys.exit(f"error: {path}: not found; RUN_DIR must be a training run's folder")
    return read(path)


def validations(records: list[dict]) -> list[tuple[float, int, float]]:
    """(minutes, step, BLEU) of each validation, in order."""
    return [(r["elapsed_s"] / 60, r["step"], r["bleu"]) for r in records if r["kind"] == "valid"]


def median_rate(records: list[dict]) -> float | None:
    """The median logged training rate (target tokens/s), or None without one."""
    rates = [r["tokens_per_s"] for r in records if r["kind"] == "train" and "tokens_per_s" in r]
    return statistics.median(rates) if rates else None


def first_reaching(points: list[tuple[float, int, float]], bleu: float):
    """The first (minutes, step, BLEU) at or above bleu, or None."""
    return next((p for p in points if p[2] >= bleu), None)


def table(runs: dict[str, list[dict]], thresholds: list[float]) -> str:
    lines = ["| run | minutes | step | val BLEU |", "| --- | ---: | ---: | ---: |"]
    for name, recs in runs.items():
        lines += [f"| {name} | {m:.1f} | {s:,} | {b:.2f} |" for m, s, b in validations(recs)]
    lines += ["", "| run | " + " | ".join(f"reaches {t:g}" for t in thresholds)
              + " | median train tok/s |", "| --- |" + " ---: |" * (len(thresholds) + 1)]
    for name, recs in runs.items():
        points, rate = validations(recs), median_rate(recs)
        cells = []
        for t in thresholds:
            hit = first_reaching(points, t)
            last = points[-1][0] if points else 0.0
            cells.append(f"{hit[0]:.1f} min (step {hit[1]:,})" if hit
                         else f"not within {last:.1f} min")
        cells.append("" if rate is None else f"{rate:,.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--thresholds", default="30,35")
    args = parser.parse_args()
    try:
        thresholds = [float(t) for t in args.thresholds.split(",") if t]
    except ValueError:
        sys.exit(f"error: --thresholds={args.thresholds}: comma-separated BLEU scores, e.g. 30,35")
    print(table({str(run): records(run) for run in args.runs}, thresholds))


if __name__ == "__main__":
    main()
