"""Average the last N numbered checkpoints of a run into one checkpoint.

    python scripts/average_checkpoints.py RUN_DIR [--last 5] [--output FILE]

The result (default RUN_DIR/checkpoints/averaged.pt) works with
`seq2seq-evaluate run_dir=RUN_DIR which=averaged` and `seq2seq-translate checkpoint=FILE`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.errors import UserError
from seq2seq.training.averaging import average_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--last", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if args.last < 1:
        sys.exit("error: --last must be >= 1")
    try:
        output = average_run(args.run_dir, args.last, args.output)
    except UserError as exc:
        sys.exit(f"error: {exc}")
    print(f"averaged the last {args.last} checkpoints of {args.run_dir} into {output}")


if __name__ == "__main__":
    main()
