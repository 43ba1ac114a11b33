"""Validation BLEU against training minutes for trained runs, from their metrics.jsonl: a
Markdown table with one column per run and the minutes at which each first reaches each
threshold.

    python scripts/time_to_quality.py RUN_DIR [RUN_DIR ...] [--thresholds 30,35]

The BLEU is the one the run validated with (its `decode`, greedy by default); the minutes are
its training time (`elapsed_s` of the validation record: over resumed sessions, validations
included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.training.metrics import read


def validations(run: Path) -> list[tuple[float, int, float]]:
    """(minutes, step, BLEU) of each validation of run, in order."""
    path = run / "metrics.jsonl"
    if not path.is_file():
        sys.exit(f"error: {path}: not found; RUN_DIR must be a training run's folder")
    return [(r["elapsed_s"] / 60, r["step"], r["bleu"]) for r in read(path)
            if r["kind"] == "valid"]


def first_reaching(points: list[tuple[float, int, float]], bleu: float):
    """The first (minutes, step, BLEU) at or above bleu, or None."""
    return next((p for p in points if p[2] >= bleu), None)


def table(runs: dict[str, list[tuple[float, int, float]]], thresholds: list[float]) -> str:
    lines = ["| run | minutes | step | val BLEU |", "| --- | ---: | ---: | ---: |"]
    for name, points in runs.items():
        lines += [f"| {name} | {m:.1f} | {s:,} | {b:.2f} |" for m, s, b in points]
    lines += ["", "| run | " + " | ".join(f"reaches {t:g}" for t in thresholds) + " |",
              "| --- |" + " ---: |" * len(thresholds)]
    for name, points in runs.items():
        cells = []
        for t in thresholds:
            hit = first_reaching(points, t)
            last = points[-1][0] if points else 0.0
            cells.append(f"{hit[0]:.1f} min (step {hit[1]:,})" if hit
                         else f"not within {last:.1f} min")
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
    print(table({str(run): validations(run) for run in args.runs}, thresholds))


if __name__ == "__main__":
    main()
