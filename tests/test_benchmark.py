"""scripts/benchmark.py times the training loop's own update and applies or refuses overrides."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from conftest import MIRROR, REPO
from training import TINY, train_config

from seq2seq import checkpoint as ckpt
from seq2seq.training.run import run_training

sys.path.insert(0, str(REPO / "scripts"))
from benchmark_report import _ratio, median_of_rounds  # noqa: E402
from benchmark_rows import loop_groups, make_trainer, target_tokens, timed_updates  # noqa: E402
from compile_step import dropout_off  # noqa: E402


def test_the_benchmarks_step_is_one_step_of_the_loop(tmp_path):
    overrides = [f"data.cache_dir={tmp_path / 'cache'}", "train.max_steps=1", "train.seed=5",
                 "train.label_smoothing=0.2", "train.clip_norm=0.5", "train.optimizer=adamw",
                 "train.weight_decay=0.01", "train.schedule=inverse_sqrt", "train.warmup_steps=4"]
    cfg, ov = train_config(tmp_path, *overrides)
    run_training(cfg, tmp_path / "loop", ov)
    after_loop = ckpt.load(tmp_path / "loop" / "checkpoints" / "last.pt")

    trainer = make_trainer([*TINY, *overrides], None, 0, "cpu", tmp_path / "bench")
    before = {k: v.clone() for k, v in trainer.state.model.state_dict().items()}
    trainer.state.model.train()
    (group,) = loop_groups(trainer, 1)
    assert [b.index.tolist() for b in group] == [trainer.epoch_batches()[0]]
    timed_updates(trainer, [group])

    weights = trainer.state.model.state_dict()
    assert weights.keys() == after_loop.weights.keys()
    assert all(torch.equal(weights[k], after_loop.weights[k]) for k in weights)
    assert sum(not torch.equal(before[k], weights[k]) for k in weights) > 10
    lr = trainer.state.optimizer.param_groups[0]["lr"]
    assert lr == after_loop.training["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)


def _script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """scripts/NAME run from the repository with args, the data mirror and env in its
    environment."""
    return subprocess.run([sys.executable, f"scripts/{name}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600,
                          env={"SEQ2SEQ_DATA_MIRROR": str(MIRROR), "PATH": "/usr/bin:/bin", **env})


def _benchmark(*args: str) -> subprocess.CompletedProcess:
    return _script("benchmark.py", *args)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.encoder.gru.hidden_size=64",
         "error: model.encoder.gru.hidden_size=64 (checkpoint: 32): --run"),
        ("train.bogus=1", "error: train.bogus: unknown key"),
        ("tokenizer.vocab_size=77", "error: tokenizer settings differ"),
    ],
)
def test_run_overrides_that_cannot_apply_are_refused_in_one_line(trained_run, override, message):
    proc = _benchmark(f"--run={trained_run}", override, "--sections", "train")
    assert proc.returncode != 0
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.slow
def test_a_run_prints_rows_with_the_applied_overrides(trained_run, tmp_path):
    proc = _benchmark(f"--run={trained_run}", "decode.max_len_b=7", "--sections", "train,decode",
                      "--rows", "fp32 fast path,greedy fp32", "--windows", "1", "--steps", "1",
                      "--sentences", "100")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith(f"overrides: decode.max_len_b=7; run: {trained_run}")
    row = next(line for line in lines if line.startswith("| train fp32 fast path |"))
    assert float(row.split("|")[2].replace(",", "")) > 0
    greedy = next(line for line in lines if line.startswith("| greedy fp32 (100 sentences) |"))
    assert 0 < float(greedy.split("|")[4]) < 100  # BLEU of the trained model


@pytest.mark.slow
def test_a_curve_adds_a_training_row_per_token_budget_and_gpu_rows_stay_off_a_cpu(trained_run):
    proc = _benchmark(f"--run={trained_run}", "--sections", "train", "--rows", "fp16,no TF32",
                      "--curve", "300,900", "--windows", "1", "--steps", "1")
    assert proc.returncode == 0, proc.stderr
    rates = {}
    for line in proc.stdout.splitlines():
        if line.startswith("| train "):
            name, rate = line.split("|")[1:3]
            rates[name.strip()] = float(rate.replace(",", ""))
    assert list(rates) == ["train curve fp32, 300-token batches",
                           "train curve fp32, 900-token batches"]  # fp16, no-TF32: GPU rows
    assert all(rate > 0 for rate in rates.values())


def test_rounds_give_medians_and_ratios_of_the_same_round():
    fast = [{"sent_s": 100.0, "bleu": 30.0, "precision": "fp32"},
            {"sent_s": 50.0, "bleu": 30.0, "precision": "fp32"},  # the machine slowed down
            {"sent_s": 90.0, "bleu": 30.0, "precision": "fp32"}]
    slow = [{"sent_s": 40.0, "sentences": 300}, {"sent_s": 25.0, "sentences": 300},
            {"skipped": "failed: OSError: x"}]
    merged = median_of_rounds(fast)
    assert (merged["sent_s"], merged["bleu"], merged["precision"]) == (90.0, 30.0, "fp32")
    assert repr(median_of_rounds(slow)["sentences"]) == "300"  # as counted, not 300.0
    assert merged["rounds"] == fast
    assert median_of_rounds(slow)["sent_s"] == 32.5  # the failed round left out
    assert median_of_rounds(slow[2:]) == slow[2]
    assert "rounds" not in median_of_rounds(fast[:1])
    rows = {"beam 5 int8": merged, "beam 5 fp32": median_of_rounds(slow)}
    assert median_of_rounds(slow)["rounds"] == slow  # the failed round kept in its place
    # per round 100/40 = 2.5 and 50/25 = 2.0 (the third round failed for one): median 2.25
    assert _ratio(rows, "beam 5 int8", "beam 5 fp32", "sent_s") == (
        "beam 5 int8 / beam 5 fp32: 2.25x (median of 2 rounds' ratios)")
    rows = {"a": fast[0], "b": slow[0]}
    assert _ratio(rows, "a", "b", "sent_s") == "a / b: 2.50x"


def test_rounds_take_the_rows_in_reverse_every_other_round(monkeypatch):
    import benchmark

    order = []

    def row(name, func, *args) -> dict:  # a machine that slows down: the nth row reads n
        order.append(name)
        return {"sent_s": float(len(order))}

    monkeypatch.setattr(benchmark, "row", row)
    merged = benchmark.in_rounds([("a", None), ("b", None), ("c", None)], 3)
    assert order == ["a", "b", "c", "c", "b", "a", "a", "b", "c"]
    # medians of (1, 6, 7), (2, 5, 8) and (3, 4, 9)
    assert [merged[k]["sent_s"] for k in "abc"] == [6.0, 5.0, 4.0]


@pytest.mark.slow
def test_decoding_rows_in_rounds(trained_run):
    proc = _benchmark(f"--run={trained_run}", "--sections", "decode", "--rows",
                      "greedy fp32 256,greedy int8 256", "--rounds", "2", "--sentences", "100")
    assert proc.returncode == 0, proc.stderr
    int8, fp32 = "greedy int8 256-sentence batches", "greedy fp32 256-sentence batches"
    assert proc.stderr.count(f"{int8} (") == 2 and proc.stderr.count(f"{fp32} (") == 2
    assert proc.stderr.count(" s): sent_s ") == 4  # only the rows asked for
    assert len(re.findall(r", page_faults \d+", proc.stderr)) == 4
    assert "rows measured in 2 rounds" in proc.stdout
    assert f"{int8} / {fp32}: " in proc.stdout
    assert "(median of 2 rounds' ratios)" in proc.stdout
    assert f"| {int8} (100 sentences) |" in proc.stdout
    for flag, value, accepted in [("--rounds", "0", "a whole number of at least 1"),
                                  ("--sentences", "-1", "0 (all) or a positive number")]:
        refused = _benchmark(flag, value)
        assert refused.returncode != 0
        assert refused.stderr == f"error: {flag} {value}: {accepted}\n"


def test_profile_decode_prints_the_decodings_operators(trained_run):
    proc = _script("profile_decode.py", str(trained_run), "--strategy", "greedy", "--quantize",
                   "int8", "--rows", "25", "--sentences", "100")
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.splitlines()[0]
    assert head.startswith("greedy 1, int8, batches of 256: ")
    assert float(head.split(": ")[1].split()[0].replace(",", "")) > 0
    assert "quantized::linear_dynamic" in proc.stdout
    refused = _script("profile_decode.py", str(trained_run), "--quantize", "int8",
                      "--precision", "bf16")
    assert refused.returncode != 0
    assert refused.stderr == "error: --precision bf16: an int8 model decodes in fp32\n"


def test_compile_steps_check_has_dropout_at_0_in_training_mode(tmp_path):
    """cuDNN's GRU backward refuses eval mode, so the check batch keeps training mode with every
    dropout probability at 0: the loss of eval mode, the probabilities put back after."""
    from seq2seq.training.step import training_loss

    trainer = make_trainer([*TINY, f"data.cache_dir={tmp_path / 'cache'}",
                            "model.encoder.gru.num_layers=2", "model.encoder.gru.dropout=0.3",
                            "model.decoder.output_dropout=0.3"], None, 0, "cpu", tmp_path / "b")
    (batch,), model = loop_groups(trainer, 1)[0], trainer.state.model

    def loss() -> float:
        return float(training_loss(trainer.tc, model, batch, trainer.sp.pad, "fp32").detach())

    model.eval()
    evaluated = loss()
    model.train()
    with dropout_off(model):
        assert model.training and model.encoder.gru.dropout == 0.0
        assert loss() == evaluated
    assert model.encoder.gru.dropout == 0.3 and loss() != evaluated


def _compile_step(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return _script("compile_step.py", *TINY, f"data.cache_dir={tmp_path / 'cache'}", *args,
                   TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))


@pytest.mark.slow
def test_the_compiled_step_loop_scores_as_the_eager_one_and_both_are_timed(tmp_path):
    proc = _compile_step(tmp_path, "train.fast_path=false", "--windows", "1", "--steps", "1")
    assert proc.returncode == 0, proc.stderr
    check, *lines = proc.stdout.splitlines()
    # one batch with dropout off: the same loss, gradients within 1e-4 (2.9e-6 measured)
    relative = float(check.split("relative difference ")[1].split(")")[0])
    largest = float(check.split("largest gradient difference ")[1].split()[0])
    assert relative <= 1e-6 and largest < 1e-4, check
    assert "over 20 parameters (eager: 20)" in check
    rows = [line for line in lines if line.startswith(("| eager |", "| torch.compile"))]
    assert len(rows) == 2 and all(float(r.split("|")[2].replace(",", "")) > 0 for r in rows)
    assert float(lines[-1].split(": ")[1].rstrip("x")) > 0


def test_compiling_the_step_of_a_fast_path_model_is_refused_in_one_line(tmp_path):
    proc = _compile_step(tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: this model trains on the fast path")
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_shape_passes_times_the_same_batches_pass_after_pass(tmp_path):
    proc = _script("shape_passes.py", *TINY, f"data.cache_dir={tmp_path / 'cache'}",
                   "--precisions", "fp32,bf16", "--batches", "2", "--passes", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["fp32", "bf16"]
    for line in lines:
        assert "by pass over the same 2 batches: " in line
        rates = line.split(": ")[2].split(" (")[0].split(", ")
        assert len(rates) == 3 and all(float(r.replace(",", "")) > 0 for r in rates)
    refused = _script("shape_passes.py", "--passes", "0")
    assert refused.stderr == "error: --passes 0: a whole number of at least 1\n"


def test_loop_overhead_times_the_loop_over_the_batches_the_update_takes(tmp_path):
    from loop_overhead import PARTS, loop_seconds, time_parts

    trainer = make_trainer([*TINY, f"data.cache_dir={tmp_path / 'cache'}", "train.max_epochs=0"],
                           None, 0, "cpu", tmp_path / "run")
    trainer.validate_and_save = lambda scheduled=True: None
    trainer.state.model.train()
    per_epoch = len(trainer.epoch_batches())
    count = per_epoch + 2  # into the next epoch, as loop_groups goes
    tokens = target_tokens(trainer, loop_groups(trainer, count))
    parts = time_parts(trainer)
    seconds, trained = loop_seconds(trainer, count)
    assert (trainer.progress.step, trainer.progress.epoch, trainer.progress.batch) == (count, 1, 2)
    assert trained == tokens and seconds > 0
    assert set(parts) == set(PARTS) and sum(parts.values()) <= seconds


def test_loop_overhead_prints_both_rates_and_the_loops_parts(tmp_path):
    proc = _script("loop_overhead.py", *TINY, f"data.cache_dir={tmp_path / 'cache'}",
                   "--updates", "2", "--rounds", "2", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == ["round 1", "round 2"]
    assert all(re.search(r"update [\d,]+, in turn [\d,]+, ahead [\d,]+ target tok/s$", line)
               for line in lines[:2])
    assert re.search(r"^update alone .*: [\d,]+ target tok/s$", proc.stdout, re.M)
    for what in ("collated in turn", "collated ahead in a thread"):
        assert re.search(rf"^the loop, {what}: [\d,]+ target tok/s, [\d.]+x the update "
                         r"alone \(the median of the rounds' ratios\)$",
                         proc.stdout, re.M), what
    splits = re.findall(r"ms per update: collate [\d.]+, update [\d.]+, after_step [\d.]+, "
                        r"stop_reason [\d.]+, epoch_batches [\d.]+, rest [\d.]+; total ([\d.]+)",
                        proc.stdout)
    assert len(splits) == 2 and all(float(total) > 0 for total in splits)
    refused = _script("loop_overhead.py", "--updates", "0")
    assert refused.stderr == "error: --updates 0: a whole number of at least 1\n"
