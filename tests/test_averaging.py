"""Averaging the last checkpoints of a run gives a checkpoint that loads and translates."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import REPO, run_module
from training import train_config

from seq2seq import checkpoint as ckpt
from seq2seq.errors import UserError
from seq2seq.training.averaging import average_run
from seq2seq.training.run import run_training


def test_average_of_last_checkpoints_loads_and_translates(tmp_path):
    cfg, ov = train_config(tmp_path, "train.max_steps=4", "train.save_every=1", "train.keep_last=3")
    run = tmp_path / "run"
    run_training(cfg, run, ov)
    steps = sorted(p.name for p in (run / "checkpoints").glob("step_*.pt"))
    assert steps == ["step_00000002.pt", "step_00000003.pt", "step_00000004.pt"]
    script = subprocess.run([sys.executable, "scripts/average_checkpoints.py", str(run),
                             "--last", "3"], cwd=REPO, capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    averaged = ckpt.load(run / "checkpoints" / "averaged.pt")
    parts = [ckpt.load(run / "checkpoints" / name).weights for name in steps]
    for key, value in averaged.weights.items():
        torch.testing.assert_close(value, sum(p[key] for p in parts) / 3)
    assert len(averaged.averaged_from) == 3
    proc = run_module("seq2seq.translate", f"run_dir={run}", "which=averaged", "decode=greedy",
                      input="Ein Hund läuft.\nZwei Kinder spielen.\n")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2


def test_too_few_checkpoints_is_an_error(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    with pytest.raises(UserError, match="has 0 step_N.pt checkpoints, fewer than --last 2"):
        average_run(tmp_path, 2)
    with pytest.raises(UserError, match="nowhere: no such run directory$"):
        average_run(tmp_path / "nowhere", 2)


def test_missing_average_says_how_to_make_it(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.pt").touch()
    with pytest.raises(UserError, match=r"without checkpoints/averaged.pt; it has best.pt \(make "
                                        r"it with: python scripts/average_checkpoints.py"):
        ckpt.resolve(tmp_path, "averaged")
