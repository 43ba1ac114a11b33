"""Training with 2 CPU processes (gloo on 127.0.0.1): agreement, sharding, equivalence with one
process, rank 0 alone writing, exact resume, and a dying rank ending the job."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
import torch.multiprocessing as mp
from conftest import MIRROR, REPO
from training import TINY, train_config

from seq2seq import checkpoint as ckpt
from seq2seq.data.batching import token_batches
from seq2seq.training import distributed
from seq2seq.training.distributed import Ranks, shard
from seq2seq.training.metrics import read
from seq2seq.training.run import run_training, train_in_group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_shards_cover_every_pair_once(small_tokenizer, mirror):
    from seq2seq.data.corpus import read_lines

    src = [len(s) for s in small_tokenizer.encode_src(read_lines(mirror / "train.de.gz"))]
    tgt = [len(t) for t in small_tokenizer.encode_tgt(read_lines(mirror / "train.en.gz"))]
    batches = token_batches(src, tgt, max_tokens=3000, seed=3, epoch=1)
    for world in (2, 3, 4):
        shares = [shard(batches, Ranks(rank=r, world=world)) for r in range(world)]
        assert len({len(s) for s in shares}) == 1
        pairs = [i for share in shares for b in share for i in b]
        assert sorted(pairs) == list(range(29000))


def _worker(rank: int, world: int, port: int, tmp, overrides: list[str], out: dict) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                      SEQ2SEQ_DATA_MIRROR=str(MIRROR))
    torch.set_num_threads(1)
    cfg, ov = train_config(tmp, *overrides)
    ranks = distributed.start("gloo", 60)
    try:
        trainer, _ = train_in_group(cfg, tmp / "run", ov, ranks)
        params = {k: v.clone() for k, v in trainer.state.model.state_dict().items()}
        gathered = ranks.gather(params)
        if ranks.main:
            out["equal"] = all(torch.equal(gathered[0][k], g[k]) for g in gathered for k in params)
            out["params"] = params
    finally:
        distributed.stop()


def _two_ranks(tmp, *overrides: str) -> dict:
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(2, _free_port(), tmp, list(overrides), out), nprocs=2)
    return dict(out)


@pytest.mark.slow
def test_ranks_agree_and_one_step_equals_one_process_with_the_whole_batch(tmp_path):
    two = _two_ranks(tmp_path / "two", "train.max_steps=1", "train.max_epochs=0")
    assert two["equal"], "ranks hold different parameters"
    torch.set_num_threads(1)
    cfg, ov = train_config(tmp_path / "one", "train.max_steps=1", "train.accumulate=2")
    run_training(cfg, tmp_path / "one" / "run", ov)
    one = ckpt.load(tmp_path / "one" / "run" / "checkpoints" / "last.pt").weights
    worst = max(float((one[k] - two["params"][k]).abs().max()) for k in one)
    print(f"largest parameter difference, 2 processes vs 1: {worst:.2e}")
    assert worst < 1e-5
    loss = lambda run: [r["smoothed_loss"] for r in read(run / "metrics.jsonl")  # noqa: E731
                        if r["kind"] == "train"]
    assert loss(tmp_path / "two" / "run") == pytest.approx(loss(tmp_path / "one" / "run"), abs=1e-6)


@pytest.mark.slow
def test_ranks_agree_after_several_steps(tmp_path):
    out = _two_ranks(tmp_path, "train.max_steps=6", "model.encoder.embed_dropout=0.2",
                     "train.valid_every=3")
    assert out["equal"]


def _torchrun(run, cache, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
            "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "seq2seq.train",
            *TINY, f"hydra.run.dir={run}", f"data.cache_dir={cache}", "train.threads=1", *extra]
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)})


def _losses(run) -> list[tuple[int, float]]:
    return [(r["step"], r["smoothed_loss"]) for r in read(run / "metrics.jsonl")
            if r["kind"] == "train"]


@pytest.mark.slow
def test_torchrun_rank0_writes_and_resume_continues_exactly(tmp_path):
    cache = tmp_path / "cache"
    common = ["model.encoder.embed_dropout=0.2", "train.valid_every=4"]
    straight = _torchrun(tmp_path / "straight", cache, *common, "train.max_steps=8")
    _, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err[-3000:]
    first = _torchrun(tmp_path / "split", cache, *common, "train.max_steps=4")
    assert first.wait(timeout=300) == 0
    resumed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "seq2seq.train",
         f"hydra.run.dir={tmp_path / 'split'}", f"train.resume={tmp_path / 'split'}",
         f"data.cache_dir={cache}", "train.max_steps=8", "train.threads=1"],
        cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR)}, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _losses(tmp_path / "split") == _losses(tmp_path / "straight")
    assert [s for s, _ in _losses(tmp_path / "straight")] == list(range(1, 9))
    a = ckpt.load(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = ckpt.load(tmp_path / "split" / "checkpoints" / "last.pt")
    assert all(torch.equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert len(a.training["rng"]["ranks"]) == 2
    names = sorted(p.name for p in (tmp_path / "straight").iterdir())
    assert names == [".hydra", ".lock", "checkpoints", "config.yaml", "metrics.jsonl", "tokenizer",
                     "train.log", "valid_hypotheses.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "split", "straight"]
    log_lines = (tmp_path / "straight" / "train.log").read_text()
    assert log_lines.count("validation at step 4") == 1
    assert "2 processes" in log_lines


@pytest.mark.slow
def test_a_dying_rank_ends_the_job_and_the_run_resumes_with_as_many_processes(tmp_path):
    run = tmp_path / "run"
    job = _torchrun(run, tmp_path / "cache", "train.max_steps=100000", "train.dist_timeout=30")
    deadline = time.monotonic() + 120
    while not any(r["kind"] == "valid" for r in _records(run)):  # past an epoch: mid-epoch 2
        assert time.monotonic() < deadline and job.poll() is None, job.stderr.read()
        time.sleep(0.2)
    workers = subprocess.run(["pgrep", "-P", str(job.pid)], capture_output=True,
                             text=True).stdout.split()
    rank1 = [p for p in workers
             if b"RANK=1\0" in open(f"/proc/{p}/environ", "rb").read().replace(b"LOCAL_", b"")]
    os.kill(int(rank1[0]), signal.SIGKILL)
    start = time.monotonic()
    _, err = job.communicate(timeout=120)
    assert job.returncode != 0
    assert time.monotonic() - start < 90
    assert "seq2seq.train FAILED" in err or "ChildFailedError" in err, err[-2000:]
    saved = ckpt.load(run / "checkpoints" / "last.pt").training["progress"]["step"]
    assert saved > 0
    resumed = _torchrun(run, tmp_path / "cache", f"train.resume={run}",
                        f"train.max_steps={saved + 3}")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    log_text = (run / "train.log").read_text()
    assert f"at step {saved} (epoch" in log_text.split("resumed from")[-1]
    assert log_text.split("resumed from")[0].count("2 processes") == 2  # started and resumed
    assert ckpt.load(run / "checkpoints" / "last.pt").training["progress"]["step"] == saved + 3


def _records(run) -> list[dict]:
    try:
        return read(run / "metrics.jsonl")
    except (OSError, ValueError):  # not there yet, or a line half written
        return []
