"""Print a Markdown table of test scores, training time and size for trained runs.

    python scripts/results_table.py RUN_DIR [RUN_DIR ...] [--split test_2016_flickr]

Reads each run's eval/*/results.json (written by seq2seq-evaluate), metrics.jsonl (training time,
steps) and train.log; evaluate first, e.g. `seq2seq-evaluate run_dir=RUN_DIR which=averaged`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.evaluation.table import markdown, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--split", default="test_2016_flickr")
    args = parser.parse_args()
    table = []
    for run in args.runs:
        if not (run / "eval").is_dir():
            sys.exit(f"error: {run}: no eval/ folder; run seq2seq-evaluate run_dir={run} first")
        table += rows(run, args.split)
    print(markdown(table))


if __name__ == "__main__":
    main()
