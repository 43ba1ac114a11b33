"""Helpers for sweep tests: `seq2seq-train -m` over a tiny model, a few steps a job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import MIRROR, REPO, run_module

TINY_JOB = [
    "model=tiny", "data.limit_train=600", "data.limit_valid=200", "tokenizer.vocab_size=500",
    "train.max_tokens=700", "train.progress=false", "train.max_epochs=0",
    "train.evaluate_after=true", "decode.batch_size=500", "decode.max_len_a=1.0",
    "decode.max_len_b=5",
]


def sweep_args(sweep: Path, *overrides: str, steps: int = 4) -> list[str]:
    return ["-m", *TINY_JOB, f"train.max_steps={steps}", f"data.cache_dir={sweep.parent / 'cache'}",
            f"hydra.sweep.dir={sweep}", *overrides]


def run_sweep(sweep: Path, *overrides: str, steps: int = 4, timeout: float = 600):
    """Run the sweep to its end; the CompletedProcess."""
    return run_module("seq2seq.train", *sweep_args(sweep, *overrides, steps=steps),
                      timeout=timeout)


def start_sweep(sweep: Path, *overrides: str, steps: int = 4) -> subprocess.Popen:
    """Start the sweep in its own process group (to kill it whole)."""
    env = {**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)}
    return subprocess.Popen([sys.executable, "-m", "seq2seq.train",
                             *sweep_args(sweep, *overrides, steps=steps)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def result(job: Path) -> dict:
    return json.loads((job / "result.json").read_text())
