"""seq2seq.study.job: each job of `seq2seq-train -m` trains, scores and writes result.json; a
failing job is a failed row and the sweep goes on; a sweep started again skips what is done and
resumes what was interrupted."""

from __future__ import annotations

import math
import os
import signal
import time

import pytest
from conftest import run_module
from omegaconf import OmegaConf
from sweeps import result, run_sweep, start_sweep

from seq2seq.errors import UserError
from seq2seq.study import result as results
from seq2seq.study.job import sweep_job

SWEPT = ("model.encoder.gru.hidden_size", "model.encoder.gru.bidirectional",
         "model.decoder.gru.num_layers", "model.decoder.gru.bidirectional")


def test_every_job_of_a_grid_writes_its_result(grid_sweep):
    jobs = sorted(grid_sweep.glob("*/result.json"))
    assert len(jobs) == 16
    params = {}
    for path in jobs:
        r = result(path.parent)
        swept = {k: r["overrides"][k] for k in SWEPT}
        assert {k: str(r["config"][k]) for k in SWEPT} == swept  # the job's config has them
        if swept["model.decoder.gru.bidirectional"] == "True":
            assert r["status"] == "failed"
            assert r["reason"].startswith("model.decoder.gru.bidirectional=true: the decoder")
            continue
        assert r["status"] == "done" and r["steps"] == 4
        assert 0 <= r["valid"]["bleu"] <= 100 and 0 < r["test"]["test_2016_flickr"]["chrf"]
        assert r["train_minutes"] > 0 and r["train_tokens_per_s"] > 0
        assert r["decode_sentences_per_s"] > 0 and r["decode"]["strategy"] == "greedy"
        params[tuple(swept.values())[:3]] = r["parameters"]
    assert len(params) == 8
    # the swept sizes reach the model: wider, bidirectional or deeper means more parameters
    assert params[("32", "True", "1")] > params[("16", "True", "1")]
    assert params[("16", "True", "1")] > params[("16", "False", "1")]
    assert params[("16", "True", "2")] > params[("16", "True", "1")]


def test_a_stopped_sweep_skips_the_done_job_and_resumes_the_interrupted_one(tmp_path):
    sweep, keys = tmp_path / "sweep", "model.encoder.gru.hidden_size=16,24,32"
    proc = start_sweep(sweep, keys, steps=60)
    deadline = time.monotonic() + 300
    while not ((sweep / "0" / "result.json").is_file()
               and (sweep / "1" / "checkpoints" / "last.pt").is_file()):
        assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended early"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (sweep / "1" / "result.json").exists()
    first = (sweep / "0" / "result.json").read_bytes()
    again = run_sweep(sweep, keys, steps=60)
    assert again.returncode == 0, again.stderr[-3000:]
    said = again.stdout + again.stderr
    assert f"job {sweep / '0'}: done before (its result.json); skipped" in said
    assert f"job {sweep / '1'}: resuming from its last checkpoint" in said
    assert (sweep / "0" / "result.json").read_bytes() == first
    assert "resumed from" in (sweep / "1" / "train.log").read_text()
    for job in ("0", "1", "2"):
        assert result(sweep / job)["status"] == "done" and result(sweep / job)["steps"] == 60


def test_a_single_run_with_evaluate_after_writes_result_json(tmp_path):
    run = tmp_path / "run"
    proc = run_module("seq2seq.train", *run_sweep_args(tmp_path), f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = result(run)
    assert r["status"] == "done" and r["steps"] == 3 and r["overrides"]["train.max_steps"] == "3"
    assert r["valid"]["bleu"] >= 0 and (run / "eval" / "best-greedy-len1x+5" / "val.hyp").is_file()


def run_sweep_args(tmp_path) -> list[str]:
    from sweeps import TINY_JOB

    return [*TINY_JOB, "train.max_steps=3", f"data.cache_dir={tmp_path / 'cache'}"]


def _cfg():
    return OmegaConf.create({"train": {"threads": 0, "resume": None}})


OVERRIDES = ["model.encoder.gru.hidden_size=8"]


@pytest.mark.parametrize("error, reason", [
    (RuntimeError("out of memory\nwhile allocating"), "RuntimeError: out of memory"),
    (UserError("train.lr=-1: not in [0, inf)"), "train.lr=-1: not in [0, inf)"),
])
def test_a_failing_job_is_recorded_with_its_one_line_reason(tmp_path, error, reason):
    def fail():
        raise error

    assert math.isnan(sweep_job(_cfg(), tmp_path, OVERRIDES, fail))
    r = result(tmp_path)
    assert r["status"] == "failed" and r["reason"] == reason
    assert r["overrides"] == {"model.encoder.gru.hidden_size": "8"}


def test_a_done_job_is_skipped_and_gives_its_validation_bleu(tmp_path):
    done = {"status": "done", "overrides": {"model.encoder.gru.hidden_size": "8"},
            "valid": {"bleu": 12.5}}
    results.write(tmp_path, done)

    def must_not_run():
        raise AssertionError("a done job ran again")

    assert sweep_job(_cfg(), tmp_path, OVERRIDES, must_not_run) == 12.5
    other = ["model.encoder.gru.hidden_size=16"]  # the folder holds another sweep's job
    assert math.isnan(sweep_job(_cfg(), tmp_path, other, must_not_run))
    assert result(tmp_path) == done


def test_a_job_with_a_last_checkpoint_resumes_from_it(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"")
    cfg, seen = _cfg(), []

    def task():
        seen.append(cfg.train.resume)
        return {"status": "done", "valid": {"bleu": 3.0}}

    assert sweep_job(cfg, tmp_path, OVERRIDES, task) == 3.0
    assert seen == [str(tmp_path)]


@pytest.mark.parametrize("status", ["stopped", "failed"])
def test_an_unfinished_job_of_another_sweep_is_not_resumed(tmp_path, status):
    """Only a done job's overrides were compared: a stopped one of another sweep in the same
    folder was resumed with this sweep's overrides merged into its saved config."""
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.pt").write_bytes(b"")
    earlier = {"status": status, "overrides": {"model.encoder.gru.hidden_size": "16"}}
    results.write(tmp_path, earlier)

    def must_not_run():
        raise AssertionError("another sweep's job was resumed")

    assert math.isnan(sweep_job(_cfg(), tmp_path, OVERRIDES, must_not_run))
    assert result(tmp_path) == earlier
