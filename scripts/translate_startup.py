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
    """A run directory holding best.pt of the default model config."""
    import dataclasses

    import hydra

    from seq2seq import checkpoint as ckpt
    from seq2seq.cli import config_dir, register_schemas, to_config
    from seq2seq.data.pipeline import prepare

    register_schemas()
    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = to_config(hydra.compose("train"), "train")
    data = prepare(cfg.data, cfg.tokenizer)
    path = folder / ckpt.CHECKPOINT_DIR / "best.pt"
    model = ckpt.build_model(cfg.model, data.tokenizer)
    ckpt.save_atomic(ckpt.Checkpoint(path=path, config=dataclasses.asdict(cfg),
                                     tokenizer=data.tokenizer, weights=model.state_dict()), path)
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
