"""The results table reads runs' metrics, logs and evaluation results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from seq2seq.evaluation.table import rows, train_minutes


def _evaluation(run, name, bleu, ensemble=None):
    folder = run / "eval" / name
    folder.mkdir(parents=True)
    scores = {"BLEU": bleu, "BLEU_lowercased": bleu + 1, "chrF2": 60.0, "TER": 40.5}
    results = {"pair": "de-en", "parameters": 1234567, "ensemble": ensemble, "splits": {
        "test_2016_flickr": {"scores": {k: {"score": v, "signature": ""}
                                        for k, v in scores.items()}}}}
    (folder / "results.json").write_text(json.dumps(results))


def test_rows_from_metrics_and_results(tmp_path):
    run = tmp_path / "de_en"
    run.mkdir()
    records = [{"kind": "train", "step": 10, "elapsed_s": 60.0},
               {"kind": "valid", "step": 20, "elapsed_s": 5130.0}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _evaluation(run, "averaged-beam5", 38.25)
    _evaluation(run, "best-greedy", 36.5)
    found = rows(run, "test_2016_flickr")
    assert [(r.checkpoint, r.decoding, r.scores["BLEU"]) for r in found] == [
        ("averaged", "beam5", 38.25), ("best", "greedy", 36.5)]
    assert found[0].train_minutes == pytest.approx(85.5) and found[0].steps == 20
    assert rows(run, "val") == []
    table = subprocess.run([sys.executable, "scripts/results_table.py", str(run)], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    assert "| de-en | de_en | averaged | beam5 | 38.25 | 39.25 | 60.00 | 40.50 | 85.5 | 20 " \
           "| 1,234,567 |" in table


def test_minutes_from_train_log_sessions_when_metrics_lack_them(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"kind": "train", "step": 10}\n')
    (tmp_path / "train.log").write_text(
        "[2026-11-27 10:56:20,423] tokenizer: reusing\n"
        "[2026-11-27 10:56:20,965] model: 11 parameters\n"
        "[2026-11-27 11:20:56,302] validation at step 1280: BLEU 32.28\n"
        "[2026-11-27 11:35:32,100] train train: kept 28997 pairs\n"  # a killed session's gap
        "[2026-11-27 11:35:33,164] model: 11 parameters\n"
        "[2026-11-27 12:35:33,900] finished at step 3000 (train.max_minutes=60 reached)\n")
    assert train_minutes(tmp_path) == pytest.approx(24 + 36 / 60 + 60)


def test_an_ensemble_row_counts_the_training_of_all_its_models(tmp_path):
    runs = [tmp_path / "a", tmp_path / "b"]
    for run, (steps, seconds) in zip(runs, [(4000, 5100.0), (3000, 4800.0)], strict=True):
        (run / "checkpoints").mkdir(parents=True)
        (run / "metrics.jsonl").write_text(
            json.dumps({"kind": "valid", "step": steps, "elapsed_s": seconds}) + "\n")
    members = [{"checkpoint": str(runs[0] / "checkpoints" / "best.pt")},
               {"checkpoint": str(runs[1] / "checkpoints" / "averaged.pt")}]
    _evaluation(runs[0], "ensemble2-beam10", 40.5, ensemble=members)
    _evaluation(runs[0], "best-beam10", 39.0)
    # checkpoints of one run: that run's training, counted once
    _evaluation(runs[0], "ensemble3-beam5", 40.0, ensemble=[
        *members, {"checkpoint": str(runs[0] / "checkpoints" / "last.pt")}])
    found = rows(runs[0], "test_2016_flickr")
    assert [(r.checkpoint, r.train_minutes, r.steps) for r in found] == [
        ("best", 85.0, 4000), ("ensemble2", 165.0, 7000), ("ensemble3", 165.0, 7000)]


def test_a_distilled_student_counts_its_teacher_and_the_translation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # seq2seq-distill and the student name paths from here
    teacher, student = tmp_path / "runs" / "teacher", tmp_path / "runs" / "student"
    for run, (steps, seconds) in ((teacher, (4000, 2520.0)), (student, (4200, 2700.0))):
        (run / "checkpoints").mkdir(parents=True)
        (run / "metrics.jsonl").write_text(
            json.dumps({"kind": "valid", "step": steps, "elapsed_s": seconds}) + "\n")
    (tmp_path / "kd").mkdir()
    (tmp_path / "kd" / "train.json").write_text(json.dumps(
        {"teachers": [{"checkpoint": "runs/teacher/checkpoints/best.pt"}], "minutes": 2.4}))
    (student / "config.yaml").write_text("data:\n  train: kd/train\n")
    (teacher / "config.yaml").write_text("data:\n  train: train\n")
    members = [{"checkpoint": str(student / "checkpoints" / "best.pt")},
               {"checkpoint": "runs/teacher/checkpoints/best.pt"}]
    _evaluation(student, "best-beam5", 39.0)
    _evaluation(student, "ensemble2.abcdef-beam10", 40.4, ensemble=members)
    _evaluation(teacher, "best-beam5", 38.7)
    found = rows(student, "test_2016_flickr") + rows(teacher, "test_2016_flickr")
    assert [(r.run, r.checkpoint, r.steps) for r in found] == [
        ("student", "best", 8200), ("student", "ensemble2.abcdef", 8200), ("teacher", "best", 4000)]
    assert [r.train_minutes for r in found] == pytest.approx([42 + 2.4 + 45] * 2 + [42])
