"""Hydra's launchers and sweepers drive the same jobs: joblib (jobs in parallel, threads shared),
submitit (its local executor, as on SLURM), Optuna (a search that maximises validation BLEU);
and the shipped study configs compose."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import hydra
import pytest
from omegaconf import OmegaConf
from sweeps import result, run_sweep

from seq2seq.composition import compose, config_dir, register_schemas
from seq2seq.errors import UserError

_STAMP = re.compile(r"^\[(\S+ \S+)\]")


def _span(job: Path) -> tuple[datetime, datetime]:
    """When the job's training started and ended (train.log)."""
    stamps = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
              for m in map(_STAMP.match, (job / "train.log").read_text().splitlines()) if m]
    return stamps[0], stamps[-1]


def test_joblib_runs_two_jobs_at_once_with_the_cores_shared(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_sweep(sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                     "model.encoder.gru.hidden_size=16,32", steps=30)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [sweep / "0", sweep / "1"]
    assert all(result(j)["status"] == "done" for j in jobs)
    pids = {(j / ".lock").read_text().split()[0] for j in jobs}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two worker processes
    (a0, a1), (b0, b1) = map(_span, jobs)
    assert a0 < b1 and b0 < a1  # their training overlapped
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert all(f"{threads} threads" in (j / "train.log").read_text() for j in jobs)


def test_submitit_local_runs_a_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_sweep(sweep, "hydra/launcher=submitit_local", "model.encoder.gru.hidden_size=16",
                     "train.threads=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result(sweep / "0")["status"] == "done"
    assert list((sweep / ".submitit").glob("*/*_result.pkl"))  # ran as a submitit job


def test_optuna_searches_three_trials_and_reports_the_best(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_sweep(sweep, "hydra/sweeper=optuna", "hydra.sweeper.n_trials=3",
                     "hydra.sweeper.direction=maximize", "hydra.sweeper.sampler.seed=1",
                     "model.encoder.gru.hidden_size=choice(16,32)",
                     "train.lr=interval(0.001,0.01)", steps=20)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = [result(sweep / str(i)) for i in range(3)]
    best = max(trials, key=lambda r: r["valid"]["bleu"])
    found = OmegaConf.load(sweep / "optimization_results.yaml")
    assert found.best_value == pytest.approx(best["valid"]["bleu"])
    assert str(found.best_params["train.lr"]) == best["overrides"]["train.lr"]


def _hydra_node(*overrides: str):
    register_schemas()
    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra.compose("train", list(overrides), return_hydra_config=True).hydra


def test_the_shipped_studies_and_the_slurm_launcher_compose():
    search = _hydra_node("study=gru_search")
    assert search.sweeper._target_.endswith("OptunaSweeper")
    assert search.sweeper.direction == "maximize" and "train.lr" in search.sweeper.params
    ablation = _hydra_node("study=gru_ablation")
    assert dict(ablation.sweeper.params) == {"ablation": "glob(*)"}
    slurm = _hydra_node("hydra/launcher=slurm").launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.tasks_per_node == 1


def _gru_keys(cfg) -> dict:
    return {f"{side}.{k}": v for side in ("encoder", "decoder")
            for k, v in vars(getattr(cfg.model, side).gru).items()}


def test_each_ablation_variant_changes_only_nn_gru_arguments():
    base = compose("train", ["study=gru_ablation", "ablation=default"])
    variants = sorted(p.stem for p in (config_dir() / "ablation").glob("*.yaml"))
    changed = set()
    for name in variants:
        try:
            cfg = compose("train", ["study=gru_ablation", f"ablation={name}"])
        except UserError as exc:  # the one a config rule refuses
            assert name == "dec_bidirectional_true" and "decoder generates" in str(exc)
            changed.add("decoder.bidirectional")
            continue
        diff = {k for k, v in _gru_keys(cfg).items() if _gru_keys(base)[k] != v}
        assert (cfg.model.encoder.embed_dropout, cfg.train) == (base.model.encoder.embed_dropout,
                                                                base.train), name
        assert name == "default" or diff, name
        changed |= diff
    args = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
            "bidirectional")
    assert {k.split(".")[1] for k in changed} == set(args)  # all seven, encoder and decoder
    assert {k.split(".")[0] for k in changed} == {"encoder", "decoder"}
