"""Learning-rate schedules: the linear decay over the training budget, step by step."""

from __future__ import annotations

import pytest
import torch
from training import train_config

from seq2seq.config import TrainConfig
from seq2seq.errors import UserError
from seq2seq.training.metrics import read
from seq2seq.training.optim import Schedule, budget_used, build_optimizer
from seq2seq.training.run import run_training


def test_budget_used_is_the_furthest_bound():
    cfg = TrainConfig(max_steps=1000, max_minutes=10.0, max_epochs=4)
    assert budget_used(cfg, 250, 60.0, 0.5) == pytest.approx(0.25)  # steps lead
    assert budget_used(cfg, 100, 300.0, 0.5) == pytest.approx(0.5)  # 5 of 10 minutes
    assert budget_used(cfg, 100, 60.0, 3.0) == pytest.approx(0.75)  # 3 of 4 epochs
    assert budget_used(cfg, 5000, 0.0, 0.0) == 1.0
    unbounded = TrainConfig(max_steps=0, max_minutes=0.0, max_epochs=0)
    assert budget_used(unbounded, 5000, 1e6, 99.0) == 0.0


def _lr_after(cfg: TrainConfig, used: list[float]) -> list[float]:
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    schedule = Schedule(opt, cfg)
    out = [opt.param_groups[0]["lr"]]
    for u in used:
        opt.step()
        schedule.after_step(u)
        out.append(opt.param_groups[0]["lr"])
    return out


def test_linear_falls_with_the_budget_to_min_lr():
    cfg = TrainConfig(schedule="linear", lr=1e-3, min_lr=1e-4, max_steps=10)
    lrs = _lr_after(cfg, [0.25, 0.5, 0.75, 0.95, 1.0])
    assert lrs == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4, 1e-4, 1e-4])


def test_linear_warms_up_first():
    cfg = TrainConfig(schedule="linear", lr=1e-3, min_lr=0.0, warmup_steps=4, max_steps=100)
    lrs = _lr_after(cfg, [0.01, 0.02, 0.03, 0.04, 0.5])
    # the lower of warm-up and decay: (step + 1) / 4, then 1 - used
    assert lrs == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 9.7e-4, 9.6e-4, 5e-4])


def test_linear_resumes_from_its_state():
    cfg = TrainConfig(schedule="linear", lr=1e-3, min_lr=0.0, max_steps=10)
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    first = Schedule(opt, cfg)
    opt.step()
    first.after_step(0.3)
    opt2 = build_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    opt2.load_state_dict(opt.state_dict())
    second = Schedule(opt2, cfg)
    second.load_state_dict(first.state_dict())
    opt2.step()
    second.after_step(0.4)
    assert opt2.param_groups[0]["lr"] == pytest.approx(6e-4)


def test_linear_without_a_budget_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"train.schedule=linear: needs a budget.*max_minutes"):
        train_config(tmp_path, "train.schedule=linear", "train.max_epochs=0")


def test_training_with_linear_decay_logs_the_falling_rate(tmp_path):
    cfg, ov = train_config(tmp_path, "train.schedule=linear", "train.max_steps=5",
                           "train.lr=0.002", "train.min_lr=0.0", "train.max_epochs=100")
    run_training(cfg, tmp_path / "run", ov)
    lrs = [r["lr"] for r in read(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "train"]
    # the rate each logged step leaves for the next: 2e-3 * (1 - step/5)
    assert lrs == pytest.approx([1.6e-3, 1.2e-3, 8e-4, 4e-4, 0.0])
