"""A longer fuzzing campaign: tests/test_fuzz.py with many more inputs per property.

    python scripts/fuzz_campaign.py [--examples 2000]

Runs the three properties (config values, corpus bytes, piped bytes) with --examples inputs
each and prints how many inputs were tried and how many failures hypothesis found.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--hypothesis-show-statistics", str(REPO / "tests" / "test_fuzz.py")],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "SEQ2SEQ_FUZZ_EXAMPLES": str(args.examples)})
    tried = sum(int(n) for n in re.findall(r"- (\d+) passing examples", proc.stdout))
    failing = sum(int(n) for n in re.findall(r"(\d+) failing examples", proc.stdout))
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    print(f"{tried:,} inputs tried over 3 properties, {failing} failing, "
          f"{time.perf_counter() - start:.0f} s; pytest: {summary}")
    if proc.returncode:
        print(proc.stdout[-5000:])
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
