"""Shared fixtures: the Multi30k mirror beside the repo and a small tokenizer trained once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data" / "multi30k"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("SEQ2SEQ_DATA_MIRROR", str(MIRROR))
    # one torch thread in this process and the commands it starts (set before any test module
    # imports torch): the tests' tiny models run as fast on one thread, and pytest-xdist runs a
    # worker on each core
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that read the 16-job sweep run on one pytest-xdist worker, which builds it once
    (each worker has its own session fixtures)."""
    for item in items:
        if "grid_sweep" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("grid_sweep"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "train.de.gz").is_file():
        pytest.fail(f"{MIRROR}: the Multi30k mirror must sit beside the repository (../shared)")
    return MIRROR


@pytest.fixture(scope="session")
def small_tokenizer(mirror, tmp_path_factory):
    """A 1,000-piece joint unigram model on the first 3,000 de-en training pairs."""
    from seq2seq.config import TokenizerConfig
    from seq2seq.data.corpus import read_lines
    from seq2seq.data.tokenizer import train_or_reuse

    de = read_lines(mirror / "train.de.gz")[:3000]
    en = read_lines(mirror / "train.en.gz")[:3000]
    return train_or_reuse(TokenizerConfig(vocab_size=1000), de, en, tmp_path_factory.mktemp("tok"))


def run_module(module: str, *args: str, env: dict | None = None, **kw):
    """Run `python -m module args` and return the CompletedProcess (text, captured)."""
    import subprocess

    full_env = {**os.environ, "SEQ2SEQ_DATA_MIRROR": str(MIRROR), **(env or {})}
    kw.setdefault("text", True)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        env=full_env,
        cwd=kw.pop("cwd", REPO),
        **kw,
    )


@pytest.fixture(scope="session")
def trained_run(mirror, tmp_path_factory) -> Path:
    """A run directory with a small Luong model trained briefly on Multi30k de-en."""
    from training import train_config

    from seq2seq.training.run import run_training

    tmp = tmp_path_factory.mktemp("trained")
    cfg, overrides = train_config(
        tmp,
        "data.limit_train=4000",
        "train.max_steps=300",
        "train.max_tokens=1500",
        "train.lr=0.003",
        "train.valid_every=300",
        "train.max_epochs=0",
    )
    run_training(cfg, tmp / "run", overrides)
    return tmp / "run"


@pytest.fixture(scope="session")
def trained_model(trained_run):
    """(model, tokenizer, val source ids, val references) of the trained run."""
    from seq2seq.data.corpus import read_lines
    from seq2seq.decoding.loading import open_model

    loaded = open_model(trained_run, device="cpu")
    model, tokenizer = loaded.model, loaded.tokenizer
    val_de = read_lines(MIRROR / "val.de.gz")
    val_en = read_lines(MIRROR / "val.en.gz")
    return model, tokenizer, tokenizer.encode_src(val_de), val_en


@pytest.fixture(scope="session")
def grid_sweep(mirror, tmp_path_factory) -> Path:
    """A finished `seq2seq-train -m` over four nn.GRU keys of encoder and decoder (16 jobs; the
    8 with a bidirectional decoder are refused by the config rules)."""
    from sweeps import run_sweep

    sweep = tmp_path_factory.mktemp("grid") / "sweep"
    proc = run_sweep(sweep, "model.encoder.gru.hidden_size=16,32",
                     "model.encoder.gru.bidirectional=true,false",
                     "model.decoder.gru.num_layers=1,2",
                     "model.decoder.gru.bidirectional=false,true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sweep
