"""Seconds from starting `seq2seq-translate` on a terminal to its first prompt.

    python scripts/translate_startup.py [RUN_DIR] [--repeat 3]

Without RUN_DIR, a run with the default model (untrained weights: start-up does not depend on
them) is written to a temporary folder first. Prints the median of the repeats, and how much of
it is importing torch and the package.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def default_run(folder: Path) -> Path:
    """A run directory holding the default model's untrained last.pt and best.pt, as
    seq2seq-train writes them before its first step."""
    from seq2seq.composition import compose
    from seq2seq.training.distributed import Ranks
    from seq2seq.training.run import build_trainer

    trainer = build_trainer(compose("train", []), folder, [], Ranks())
    trainer.checkpoints.save(trainer.state, best=True)
    return folder


def seconds_to_prompt(run: Path) -> float:
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.executable, [sys.executable, "-m", "seq2seq.translate", f"run_dir={run}"])
    seen = b""
    while b"> " not in seen:
        if select.select([fd], [], [], 60)[0]:
            seen += os.read(fd, 4096)
        else:
            raise TimeoutError(seen.decode(errors="replace"))
    elapsed = time.perf_counter() - start
    os.write(fd, b"\x04")
    os.waitpid(pid, 0)
    return elapsed


def seconds_to_import() -> float:
    code = "import time; t = time.perf_counter(); import torch, seq2seq.translate, " \
           "seq2seq.decoding.loading, seq2seq.frontends.session; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run_dir) if args.run_dir else default_run(Path(tmp))
        seconds_to_prompt(run)  # warm the file cache
        total = statistics.median(seconds_to_prompt(run) for _ in range(args.repeat))
        imports = statistics.median(seconds_to_import() for _ in range(args.repeat))
    print(f"start to first prompt: {total:.2f} s (median of {args.repeat}); "
          f"importing torch and seq2seq: {imports:.2f} s; after imports: {total - imports:.2f} s")


if __name__ == "__main__":
    main()
