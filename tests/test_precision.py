"""precision=auto chooses by measuring (timings injected here), caches the choice, and leaves a
run as it would have been; explicit precisions are kept."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from training import train_config

from seq2seq import checkpoint as ckpt
from seq2seq import precision
from seq2seq.config import DecodeConfig
from seq2seq.decoding import loading
from seq2seq.decoding.loading import open_model
from seq2seq.devices import pick_precision
from seq2seq.training import probe
from seq2seq.training.distributed import Ranks
from seq2seq.training.metrics import read
from seq2seq.training.run import build_trainer, run_training

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    return tmp_path / "cache" / "precision.json"


def _measure(seconds: dict, calls: list):
    def measure(p: str) -> float:
        calls.append(p)
        return seconds[p]
    return measure


@pytest.mark.parametrize("seconds, expected", [
    ({"fp32": 1.0, "bf16": 0.5}, "bf16"),
    ({"fp32": 1.0, "bf16": 1.9}, "fp32"),  # a CPU whose bf16 is slower (README, Speed)
    ({"fp32": 1.0, "bf16": 0.97}, "fp32"),  # within the noise margin
])
def test_auto_takes_the_precision_measured_fastest(seconds, expected, caplog):
    calls = []
    with caplog.at_level(logging.INFO, logger="seq2seq.precision"):
        got = pick_precision("auto", CPU, "train.precision", _measure(seconds, calls), "m1")
    assert got == expected and calls == ["fp32", "bf16"]
    assert f"train.precision=auto: {expected} (measured: fp32 1000 ms" in caplog.text


def test_the_choice_is_measured_once_per_model_shape(cache):
    calls = []
    fast_bf16 = _measure({"fp32": 1.0, "bf16": 0.5}, calls)
    assert pick_precision("auto", CPU, "train.precision", fast_bf16, "m1") == "bf16"
    assert pick_precision("auto", CPU, "train.precision", fast_bf16, "m1") == "bf16"
    assert calls == ["fp32", "bf16"] and cache.is_file()
    assert pick_precision("auto", CPU, "decode.precision", fast_bf16, "m1") == "bf16"
    assert pick_precision("auto", CPU, "train.precision", fast_bf16, "m2") == "bf16"
    assert calls == ["fp32", "bf16"] * 3


def test_no_bf16_instructions_means_fp32_unmeasured(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    calls = []
    assert pick_precision("auto", CPU, "train.precision",
                          _measure({"fp32": 1.0, "bf16": 0.1}, calls), "m") == "fp32"
    assert calls == []


def test_an_unwritable_cache_only_costs_measuring_again(monkeypatch, tmp_path, caplog):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "file"))
    calls = []
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert pick_precision("auto", CPU, "train.precision",
                                  _measure({"fp32": 1.0, "bf16": 0.5}, calls), "m") == "bf16"
    assert calls == ["fp32", "bf16"] * 2 and "cannot keep the precision" in caplog.text


@pytest.mark.parametrize("name", ["fp32", "bf16"])
def test_an_explicit_precision_is_kept(name):
    assert pick_precision(name, CPU, "train.precision") == name


def test_bf16_on_a_cpu_without_bf16_instructions_warns_naming_the_key(monkeypatch, caplog):
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="seq2seq.devices"):
        assert pick_precision("bf16", CPU, "train.precision") == "bf16"
        pick_precision("fp32", CPU, "train.precision")
    (record,) = caplog.records
    assert record.getMessage().startswith("train.precision=bf16: this CPU has no bf16 matrix")


def _fake_timed(seconds: list[float]):
    """timed() that runs the real work once and reports the given seconds in turn."""
    def timed(run, device, repeats=2):
        run()
        return seconds.pop(0)
    return timed


def _every_pass_equally_fast(run, device, repeats):
    """timed() that runs every pass (the warm-up too) and reports each precision as fast."""
    for _ in range(repeats + 1):
        run()
    return 1.0


def test_training_auto_measures_the_runs_own_step_and_leaves_the_run_unchanged(
        tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "timed", _fake_timed([1.0, 2.0]))  # fp32 faster
    cfg, ov = train_config(tmp_path, "train.max_steps=3", "train.precision=auto")
    run_training(cfg, tmp_path / "auto", ov)
    cfg, ov = train_config(tmp_path, "train.max_steps=3", "train.precision=fp32")
    run_training(cfg, tmp_path / "fp32", ov)
    losses = [[r["smoothed_loss"] for r in read(tmp_path / run / "metrics.jsonl")
               if r["kind"] == "train"] for run in ("auto", "fp32")]
    assert losses[0] == losses[1] and len(losses[0]) == 3
    a, b = (ckpt.load(tmp_path / run / "checkpoints" / "last.pt").weights
            for run in ("auto", "fp32"))
    assert all(torch.equal(a[k], b[k]) for k in a)

    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "another-machine"))
    monkeypatch.setattr(probe, "timed", _fake_timed([1.0, 0.5]))  # bf16 faster
    cfg, ov = train_config(tmp_path, "train.precision=auto", "train.seed=7")
    assert build_trainer(cfg, tmp_path / "bf16", ov, Ranks()).precision == "bf16"


def test_training_auto_times_different_batches_in_turn_the_same_for_each_precision(
        tmp_path, monkeypatch):
    seen = []  # (precision, the batch's first corpus index) of every probe pass
    real_loss = probe.training_loss

    def loss(tc, model, batch, pad, precision):
        seen.append((precision, int(batch.index[0])))
        return real_loss(tc, model, batch, pad, precision)

    monkeypatch.setattr(probe, "training_loss", loss)
    monkeypatch.setattr(probe, "timed", _every_pass_equally_fast)
    cfg, ov = train_config(tmp_path, "train.precision=auto")
    assert build_trainer(cfg, tmp_path / "run", ov, Ranks()).precision == "fp32"  # a tie
    firsts = {p: [i for q, i in seen if q == p] for p in ("fp32", "bf16")}
    assert [q for q, _ in seen] == ["fp32"] * probe.BATCHES + ["bf16"] * probe.BATCHES
    assert firsts["fp32"] == firsts["bf16"] and len(set(firsts["fp32"])) == probe.BATCHES


def test_decoding_auto_measures_the_loaded_model(trained_run, monkeypatch, tmp_path):
    monkeypatch.setattr(loading, "timed", _fake_timed([1.0, 0.5]))
    assert open_model(trained_run, device="cpu", precision="auto").precision == "bf16"
    assert open_model(trained_run, device="cpu", precision="auto").precision == "bf16"  # cached
    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "another-machine"))
    monkeypatch.setattr(loading, "timed", _fake_timed([1.0, 3.0]))
    assert open_model(trained_run, device="cpu", precision="auto").precision == "fp32"
    assert open_model(trained_run, device="cpu", precision="auto",
                      quantize="int8").precision == "fp32"


def test_decoding_auto_times_the_decodes_own_search_over_new_shapes_in_turn(
        trained_run, monkeypatch):
    seen = []  # (precision's dtype, strategy, beam, rows, source length, steps) of each search
    real = loading.translate_ids

    def translate_ids(model, src, *, settings, strategy, batch_size, **kw):
        hyps = real(model, src, settings=settings, strategy=strategy, batch_size=batch_size,
                    **kw)
        steps = {len(h[0].tokens) for h in hyps}
        seen.append((next(model.parameters()).dtype, strategy, settings.beam_size, len(src),
                     len(src[0]), steps))
        return hyps

    monkeypatch.setattr(loading, "translate_ids", translate_ids)
    monkeypatch.setattr(loading, "timed", _every_pass_equally_fast)
    greedy = DecodeConfig(strategy="greedy", beam_size=1, batch_size=3)
    assert open_model(trained_run, device="cpu", precision="auto",
                      decode=greedy).precision == "fp32"  # a tie
    lengths = list(loading.PROBE_LENGTHS)
    assert [s[:5] for s in seen] == [(torch.float32, "greedy", 1, 3, n) for n in lengths] + [
        (torch.bfloat16, "greedy", 1, 3, n) for n in lengths]
    assert [s[5] for s in seen] == [{n + 4} for n in lengths * 2]  # searched to the cap
    seen.clear()
    beam = DecodeConfig(strategy="beam", beam_size=2, batch_size=1000)  # a new key: measured
    open_model(trained_run, device="cpu", precision="auto", decode=beam)
    assert {s[1:4] for s in seen} == {("beam", 2, loading.PROBE_BATCH)} and len(seen) == 6


def test_auto_on_a_gpu_measures_fp16_as_well(monkeypatch):
    monkeypatch.setattr(precision, "machine", lambda device, threads=None: "a GPU machine")
    gpu = torch.device("cuda")
    assert precision.candidates(gpu) == ["fp32", "bf16", "fp16"]
    calls = []
    seconds = {"fp32": 1.0, "bf16": 0.8, "fp16": 0.6}
    assert pick_precision("auto", gpu, "train.precision", _measure(seconds, calls), "m") == "fp16"
    assert calls == ["fp32", "bf16", "fp16"]
    assert precision.candidates(CPU) == ["fp32", "bf16"]  # fp16 is asked for on a CPU, not probed


def _scale(run) -> float:
    return ckpt.load(run / "checkpoints" / "last.pt").training["scaler"]["scale"]


def test_fp16_training_scales_its_loss_and_resumes_the_scale_exactly(tmp_path):
    """fp16 autocast with a gradient scaler (run on a CPU here, as on a GPU): the scale is saved
    and restored, so a resumed run equals one straight run."""
    def train(name, *overrides):
        cfg, ov = train_config(tmp_path, "train.precision=fp16", *overrides)
        run_training(cfg, tmp_path / name, ov)
        return tmp_path / name

    straight = train("straight", "train.max_steps=8")
    assert 0 < _scale(straight) <= 2.0**16  # torch's initial scale, lowered by any overflow
    split = train("split", "train.max_steps=4")
    cfg, ov = train_config(tmp_path, "train.max_steps=8", f"train.resume={split}", tiny=False)
    run_training(cfg, split, ov)
    losses = [[r["smoothed_loss"] for r in read(run / "metrics.jsonl") if r["kind"] == "train"]
              for run in (straight, split)]
    assert losses[0] == losses[1] and len(losses[0]) == 8
    a, b = (ckpt.load(run / "checkpoints" / "last.pt").weights for run in (straight, split))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _scale(split) == _scale(straight)
    fp32 = tmp_path / "fp32"
    cfg, ov = train_config(tmp_path, "train.max_steps=2")
    run_training(cfg, fp32, ov)
    assert ckpt.load(fp32 / "checkpoints" / "last.pt").training["scaler"] == {}


def test_an_fp16_overflow_skips_the_update_and_lowers_the_scale(tmp_path):
    cfg, ov = train_config(tmp_path, "train.precision=fp16")
    trainer = build_trainer(cfg, tmp_path / "run", ov, Ranks())
    scaler = trainer.step.scaler
    state = scaler.state_dict()
    scaler.load_state_dict({**state, "scale": 2.0**40})  # scaled fp16 gradients overflow
    before = {k: v.clone() for k, v in trainer.state.model.state_dict().items()}
    group = [trainer.collate(trainer.epoch_batches(0)[0], 0)]
    result = trainer.step(group)
    assert result is not None and math.isfinite(result.loss)  # a step, not a non-finite loss
    assert scaler.get_scale() == 2.0**39
    after = trainer.state.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    moved = False
    for _ in range(40):  # the scale halves at each overflow until the gradients fit fp16
        assert trainer.step(group) is not None
        now = trainer.state.model.state_dict()
        if moved := any(not torch.equal(before[k], now[k]) for k in before):
            break
    assert moved and scaler.get_scale() < 2.0**39


def test_an_fp16_non_finite_loss_is_skipped_and_training_goes_on(tmp_path, monkeypatch):
    from seq2seq.training import step

    cfg, ov = train_config(tmp_path, "train.precision=fp16")
    trainer = build_trainer(cfg, tmp_path / "run", ov, Ranks())
    group = [trainer.collate(trainer.epoch_batches(0)[0], 0)]
    real = step.training_loss
    monkeypatch.setattr(step, "training_loss", lambda *a, **k: real(*a, **k) * math.inf)
    assert trainer.step(group) is None  # counted by the loop as a non-finite loss
    monkeypatch.setattr(step, "training_loss", real)
    result = trainer.step(group)
    assert result is not None and math.isfinite(result.loss)
