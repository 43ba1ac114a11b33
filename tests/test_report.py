"""seq2seq-report (seq2seq.report, seq2seq.study.table, seq2seq.study.plots): a sweep's table as
Markdown, CSV and JSON, and its plots."""

from __future__ import annotations

import csv
import io
import json

from conftest import run_module

from seq2seq.study import plots, table

SWEPT = ["model.encoder.gru.hidden_size", "model.encoder.gru.bidirectional",
         "model.decoder.gru.num_layers", "model.decoder.gru.bidirectional"]


def test_report_writes_the_table_and_plots(grid_sweep, tmp_path):
    out = tmp_path / "report"
    proc = run_module("seq2seq.report", str(grid_sweep), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.iterdir())
    per_key = [f"bleu_vs_{k}.png" for k in SWEPT]
    assert names == sorted(["report.md", "report.csv", "report.json", "bleu_vs_parameters.png",
                            "bleu_vs_minutes.png", *per_key])
    assert all((out / n).read_bytes().startswith(b"\x89PNG") for n in names if n.endswith("png"))
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("| job | " + " | ".join(SWEPT) + " | status | val BLEU |")
    assert len(lines) == 2 + 16 and (out / "report.md").read_text() == proc.stdout
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text())))
    assert [r["job"] for r in rows] == [str(i) for i in range(16)]  # numeric order
    assert sorted(r["status"] for r in rows) == ["done"] * 8 + ["failed"] * 8
    for r in rows:
        refused = r["model.decoder.gru.bidirectional"] == "True"
        assert (r["status"] == "failed") == refused
        assert r["reason"].startswith("model.decoder.gru.bidirectional=true") == refused
        assert (r["valid_bleu"] == "") == refused
    saved = json.loads((out / "report.json").read_text())
    assert saved["swept"] == SWEPT and len(saved["jobs"]) == 16


def test_each_plot_has_a_point_per_scored_job(grid_sweep):
    rows = table.collect(grid_sweep)
    for cost, label, _ in plots.COSTS:
        ax = plots.bleu_vs_cost(rows, cost, label).axes[0]
        assert len(ax.collections[0].get_offsets()) == 8
    for key in SWEPT:
        ax = plots.bleu_by_key(rows, key).axes[0]
        assert sum(len(line.get_xdata()) for line in ax.lines) == 8
        # grouped by the other keys: each group holds the jobs that share their values
        others = [k for k in SWEPT if k != key]
        groups = {tuple(r[k] for k in others) for r in rows if r["status"] == "done"}
        assert len(ax.lines) == len(groups)


def test_the_pareto_front_keeps_the_points_nothing_beats():
    points = [(1.0, 10.0), (2.0, 12.0), (2.0, 11.0), (3.0, 11.0), (0.5, 5.0), (1.0, 10.0)]
    assert plots.pareto_front(points) == [4, 0, 5, 1]


def _job(sweep, name, overrides, result=None):
    (sweep / name / ".hydra").mkdir(parents=True)
    (sweep / name / ".hydra" / "overrides.yaml").write_text(
        "".join(f"- {o}\n" for o in overrides))
    if result is not None:
        (sweep / name / "result.json").write_text(json.dumps(result))


def test_swept_keys_are_the_overrides_that_differ_and_unrun_jobs_are_rows(tmp_path):
    _job(tmp_path, "0", ["model=tiny", "train.lr=0.001"], {"status": "done", "valid": {"bleu": 5}})
    _job(tmp_path, "1", ["model=tiny", "train.lr=0.002"])
    rows = table.collect(tmp_path)
    assert table.swept_keys(rows) == ["train.lr"]
    assert [(r["train.lr"], r["status"], r.get("valid_bleu")) for r in rows] == [
        ("0.001", "done", 5), ("0.002", "not run", None)]
    assert table.markdown(rows).startswith("| job | train.lr | status |")


def test_a_swept_key_that_names_the_job_folders_is_not_repeated(tmp_path):
    for name in ("enc_small", "enc_large"):  # subdir=${hydra:runtime.choices.ablation}
        _job(tmp_path, name, [f"ablation={name}", "study=s"])
    rows = table.collect(tmp_path)
    assert table.swept_keys(rows) == ["ablation"]
    assert table.markdown(rows).startswith("| job | status |")


def test_bad_sweep_directories_get_one_line(tmp_path):
    (tmp_path / "run" / ".hydra").mkdir(parents=True)  # what seq2seq-train without -m makes
    (tmp_path / "run" / ".hydra" / "overrides.yaml").write_text("[]\n")
    for target, says in ((tmp_path / "missing", "not a folder"), (tmp_path / "run" / ".hydra",
                         "no jobs found"), (tmp_path / "run", "a single run, not a sweep")):
        proc = run_module("seq2seq.report", str(target))
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {target}: {says}")
