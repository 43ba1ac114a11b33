"""Training as a process: SIGTERM saves and names the resume command; SIGKILL never leaves
the run without a loadable latest checkpoint, and resume continues from it."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import MIRROR, REPO, run_module
from training import TINY

from seq2seq import checkpoint as ckpt
from seq2seq.training.metrics import read


def _start(run, cache, *extra: str) -> subprocess.Popen:
    args = [*TINY, f"hydra.run.dir={run}", f"data.cache_dir={cache}", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "seq2seq.train", *args],
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)},
        # Ctrl-C acts as at a person's shell: a command started in the background inherits
        # SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(condition, timeout: float = 60.0, every: float = 0.001) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(every)
    return False


def _train_records(run) -> list[dict]:
    path = run / "metrics.jsonl"
    try:
        return [r for r in read(path) if r["kind"] == "train"] if path.is_file() else []
    except ValueError:  # a line being written
        return []


@pytest.mark.slow
def test_sigterm_saves_and_names_resume_command(tmp_path):
    run, cache = tmp_path / "run", tmp_path / "cache"
    proc = _start(run, cache, "train.max_steps=100000")
    assert _wait_for(lambda: len(_train_records(run)) >= 5, every=0.05), proc.stderr
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "SIGTERM: finishing this step, then saving a checkpoint" in err
    command = re.search(r"resume with: (seq2seq-train .*)", err).group(1)
    assert command == f"seq2seq-train hydra.run.dir={run} train.resume={run}"
    saved = ckpt.load(run / "checkpoints" / "last.pt").training["progress"]["step"]
    assert saved == len(_train_records(run)) >= 5
    # the printed command continues the run (as a module, with the test's cache)
    args = command.split()[1:] + [f"data.cache_dir={cache}", f"train.max_steps={saved + 3}"]
    resumed = run_module("seq2seq.train", *args)
    assert resumed.returncode == 0, resumed.stderr
    assert [r["step"] for r in _train_records(run)] == list(range(1, saved + 4))


def test_ctrl_c_before_the_first_checkpoint_is_one_line_and_leaves_no_run(tmp_path):
    """It was a KeyboardInterrupt traceback, leaving a run directory with nothing saved."""
    run = tmp_path / "run"
    proc = _start(run, tmp_path / "cache")
    assert _wait_for(run.exists, every=0.01)  # claimed: Hydra and torch still to start
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, "stopped by Ctrl-C\n")
    assert not run.exists()


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_loadable_checkpoint(tmp_path):
    run, cache = tmp_path / "run", tmp_path / "cache"
    rnd = random.Random(0)
    common = ["train.max_steps=400", "train.save_every=1", "train.keep_last=2"]
    steps_seen, killed_mid_write = [], 0
    for attempt in range(5):
        resume = [f"train.resume={run}"] if (run / "checkpoints" / "last.pt").is_file() else []
        proc = _start(run, cache, *common, *resume)
        temporaries = lambda: list((run / "checkpoints").glob(".*.tmp*"))  # noqa: E731
        if attempt % 2:  # the moment a checkpoint is being written
            started = len(_train_records(run))
            _wait_for(lambda: len(_train_records(run)) > started and temporaries())  # noqa: B023
            killed_mid_write += bool(temporaries())
        else:  # a random moment once training runs
            _wait_for(lambda: (run / "metrics.jsonl").is_file(), every=0.01)
            time.sleep(rnd.uniform(0.0, 1.5))
        proc.kill()
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        payload = ckpt.load(run / "checkpoints" / "last.pt")  # complete, loadable
        steps_seen.append(payload.training["progress"]["step"])
    assert killed_mid_write >= 1, "no kill landed during a checkpoint write"
    assert steps_seen == sorted(steps_seen) and steps_seen[-1] > 0
    final = _start(
        run, cache, *common, f"train.resume={run}", "train.max_steps=" + str(steps_seen[-1] + 5)
    )
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert f"resumed from {run / 'checkpoints' / 'last.pt'} at step {steps_seen[-1]}" in err
    assert [r["step"] for r in _train_records(run)] == list(range(1, steps_seen[-1] + 6))
    assert not list((run / "checkpoints").glob(".*.tmp*"))


def test_bad_inputs_are_one_line_errors(tmp_path):
    cache = f"data.cache_dir={tmp_path / 'cache'}"
    (tmp_path / "afile").write_text("")
    first = run_module(
        "seq2seq.train", *TINY, cache, f"hydra.run.dir={tmp_path / 'r0'}", "train.max_steps=1"
    )
    assert first.returncode == 0, first.stderr
    torch_save_evil = tmp_path / "evil.pt"
    torch_save_evil.write_bytes(b"\x80\x04cos\nsystem\n(Vtouch PWNED\ntR.")
    cases = [
        (
            [
                "data=files",
                f"data.train={tmp_path}/missing",
                "data.src_lang=de",
                "data.tgt_lang=en",
            ],
            "missing.de: file not found",
        ),
        (
            [f"hydra.run.dir={tmp_path / 'afile' / 'run'}"],
            "cannot create or write the run directory",
        ),
        (["train.resume=/no/such/run"], "/no/such/run: no such checkpoint file or run directory"),
        ([f"train.resume={tmp_path / 'r0'}", "model=default"], "another architecture"),
        (
            [f"train.resume={torch_save_evil}"],
            "evil.pt: refused: it holds objects a checkpoint "
            "must not (os.system), which could run code",
        ),
    ]
    for overrides, message in cases:
        base = [*TINY] if not any(o.startswith("model=") for o in overrides) else TINY[1:]
        proc = run_module(
            "seq2seq.train",
            *base,
            cache,
            *overrides,
            *(
                []
                if any("run.dir" in o for o in overrides)
                else [f"hydra.run.dir={tmp_path / 'r1'}"]
            ),
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, proc.stderr
        assert lines[-1].startswith("error: ") and message in lines[-1], lines[-1]
        assert "Traceback" not in proc.stderr
    assert not (REPO / "PWNED").exists() and not (tmp_path / "PWNED").exists()
