"""scripts/time_to_quality.py: validation BLEU against training minutes from metrics.jsonl."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def _run(tmp_path, records) -> str:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = subprocess.run([sys.executable, "scripts/time_to_quality.py", str(run),
                           "--thresholds", "30,35"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_table_gives_each_validation_and_the_first_minutes_past_each_threshold(tmp_path):
    records = [{"kind": "train", "step": 10, "elapsed_s": 30.0, "tokens_per_s": 2000.0},
               {"kind": "train", "step": 20, "elapsed_s": 60.0, "tokens_per_s": 3000.0},
               {"kind": "train", "step": 30, "elapsed_s": 900.0, "tokens_per_s": 100.0},
               {"kind": "valid", "step": 250, "elapsed_s": 150.0, "bleu": 17.2},
               {"kind": "valid", "step": 500, "elapsed_s": 300.0, "bleu": 30.0},
               {"kind": "valid", "step": 750, "elapsed_s": 450.0, "bleu": 29.5},
               {"kind": "valid", "step": 1000, "elapsed_s": 630.0, "bleu": 33.1}]
    out = _run(tmp_path, records)
    assert "| 2.5 | 250 | 17.20 |" in out and "| 10.5 | 1,000 | 33.10 |" in out
    last = out.strip().splitlines()[-1]
    assert last.endswith("| 5.0 min (step 500) | not within 10.5 min | 2,000 |")


def test_a_folder_without_metrics_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/time_to_quality.py", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr == f"error: {tmp_path}/metrics.jsonl: not found; RUN_DIR must be a " \
                          "training run's folder\n"
