"""One training per run directory: a second training or a resume into a directory in use is
refused in one line naming the holder; a killed holder frees it; refusals leave no empty run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import MIRROR, REPO, run_module
from training import TINY

from seq2seq.errors import UserError
from seq2seq.training import lock


def _train(run, cache, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "seq2seq.train", *TINY, f"hydra.run.dir={run}",
         f"data.cache_dir={cache}", *extra],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)})


def _until(condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_the_lock_is_this_processs_until_released(tmp_path):
    lock.hold(tmp_path / "run")
    lock.hold(tmp_path / "run")  # again: nothing to do
    lock.check_free(tmp_path / "run", "train.resume")
    holder = subprocess.run(
        [sys.executable, "-c", "import sys; from seq2seq.training import lock; "
         "lock.hold(sys.argv[1])", str(tmp_path / "run")],
        cwd=REPO, capture_output=True, text=True)
    assert holder.returncode != 0 and "another training is using this run directory (PID " \
        f"{os.getpid()} on " in holder.stderr
    lock.release(tmp_path / "run")
    lock.hold(tmp_path / "run")
    lock.release(tmp_path / "run")


@pytest.mark.slow
def test_a_second_training_into_a_run_in_use_is_refused_and_sigkill_frees_it(tmp_path):
    run, cache = tmp_path / "run", tmp_path / "cache"
    first = _train(run, cache, "train.max_steps=100000")
    try:
        _until(lambda: (run / "checkpoints" / "last.pt").is_file())
        hydra_files = {p: p.stat().st_mtime_ns for p in (run / ".hydra").iterdir()}
        second = run_module("seq2seq.train", *TINY, f"hydra.run.dir={run}",
                            f"data.cache_dir={cache}", "train.seed=9")
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"error: hydra.run.dir={run}: another training is using this run directory "
            f"(PID {first.pid} on {os.uname().nodename}); wait for it or stop it, or train into "
            "another directory"]
        assert {p: p.stat().st_mtime_ns for p in (run / ".hydra").iterdir()} == hydra_files
        elsewhere = run_module("seq2seq.train", *TINY, f"hydra.run.dir={tmp_path / 'other'}",
                               f"data.cache_dir={cache}", f"train.resume={run}")
        assert elsewhere.returncode == 2
        assert f"error: train.resume={run}: another training is writing that run (PID " \
            f"{first.pid}" in elsewhere.stderr
        assert not (tmp_path / "other").exists()  # refused: no empty run directory left
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # a new training into the run it left is refused before anything there changes
    saved = {p: p.read_bytes() for p in [*(run / ".hydra").iterdir(), *run.glob("*/*.pt")]}
    again = run_module("seq2seq.train", *TINY, f"hydra.run.dir={run}", f"data.cache_dir={cache}")
    assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
    assert again.stderr.startswith(f"error: hydra.run.dir={run}: holds the checkpoints of a "
                                   "training already (")
    assert {p: p.read_bytes() for p in saved} == saved
    resumed = run_module("seq2seq.train", *TINY, f"hydra.run.dir={run}",
                         f"data.cache_dir={cache}", f"train.resume={run}", "train.max_steps=3")
    assert resumed.returncode == 0, resumed.stderr


def test_a_refusal_inside_training_leaves_no_new_run_directory(tmp_path):
    run = tmp_path / "runs" / "new"
    proc = run_module("seq2seq.train", *TINY, f"hydra.run.dir={run}",
                      f"data.cache_dir={tmp_path / 'cache'}", "tokenizer.vocab_size=90000")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "vocab" in proc.stderr.lower()
    assert not run.exists()
    # a refusal in an existing run directory keeps what was there
    run.mkdir(parents=True)
    (run / "notes.txt").write_text("mine")
    proc = run_module("seq2seq.train", *TINY, f"hydra.run.dir={run}",
                      f"data.cache_dir={tmp_path / 'cache'}", "tokenizer.vocab_size=90000")
    assert proc.returncode == 2 and (run / "notes.txt").read_text() == "mine"


def test_check_free_refuses_a_run_held_elsewhere(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from seq2seq.training import lock; "
         "lock.hold(sys.argv[1]); print('held', flush=True); time.sleep(60)",
         str(tmp_path / "run")], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(UserError, match=f"train.resume=.*run: another training is writing "
                           f"that run \\(PID {holder.pid} on "):
            lock.check_free(tmp_path / "run", "train.resume")
    finally:
        holder.kill()
        holder.wait()
    lock.check_free(tmp_path / "run", "train.resume")  # the killed holder freed it
