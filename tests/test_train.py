"""Training: repeatability, exact resume, divergence guard, learning, bad input (in process)."""

from __future__ import annotations

import math
import os
import pickle
import re
import warnings

import pytest
import torch
from training import train_config

from seq2seq import checkpoint as ckpt
from seq2seq.errors import UserError
from seq2seq.training.metrics import read
from seq2seq.training.run import run_training

# dropout and scheduled sampling on: resume must restore the RNG exactly
RANDOM = [
    "model.encoder.embed_dropout=0.3",
    "model.decoder.output_dropout=0.3",
    "train.teacher_forcing=0.8",
    "train.valid_every=20",
]


def _losses(run) -> list[tuple[int, float]]:
    return [(r["step"], r["smoothed_loss"]) for r in read(run / "metrics.jsonl")
            if r["kind"] == "train"]


def _validations(run) -> list[tuple[int, float]]:
    return [(r["step"], r["bleu"]) for r in read(run / "metrics.jsonl") if r["kind"] == "valid"]


def _params(run) -> dict[str, torch.Tensor]:
    return ckpt.load(run / "checkpoints" / "last.pt").weights


def _train(tmp_path, name, *overrides):
    cfg, ov = train_config(tmp_path, *overrides)
    run_training(cfg, tmp_path / name, ov)
    return tmp_path / name


def test_repeatable_and_exact_resume_mid_epoch(tmp_path):
    straight = _train(tmp_path, "straight", *RANDOM, "train.max_steps=40")
    again = _train(tmp_path, "again", *RANDOM, "train.max_steps=40")
    assert _losses(straight) == _losses(again)
    assert len(_losses(straight)) == 40
    records = read(straight / "metrics.jsonl")
    epoch_end = min(r["step"] for r in records if r["kind"] == "train" and r["epoch"] == 2) - 1
    assert 20 < epoch_end < 40, "the stop at step 20 falls mid-epoch, the resume crosses an epoch"

    split = _train(tmp_path, "split", *RANDOM, "train.max_steps=20")
    progress = ckpt.load(split / "checkpoints" / "last.pt").training["progress"]
    assert progress["step"] == 20 and progress["batch"] > 0 and progress["epoch"] == 0
    # as a user resumes: the saved config supplies everything not given again
    cfg, ov = train_config(tmp_path, "train.max_steps=40", f"train.resume={split}", tiny=False)
    assert cfg.model.encoder.gru.hidden_size == 256  # the defaults, until the checkpoint's apply
    run_training(cfg, split, ov)

    assert _losses(split) == _losses(straight)
    a, b = _params(straight), _params(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _validations(split) == _validations(straight)


def test_loss_halves_and_validation_bleu_is_logged(tmp_path):
    run = _train(
        tmp_path,
        "run",
        "data.limit_train=2000",
        "train.label_smoothing=0",
        "model.encoder.gru.hidden_size=64",
        "model.decoder.gru.hidden_size=128",
        "model.decoder.gru.input_size=128",
        "train.max_steps=300",
        "train.max_tokens=1500",
        "train.valid_every=150",
        "train.lr=0.003",
    )
    losses = _losses(run)
    last = sum(loss for _, loss in losses[-10:]) / 10  # steps 291-300, less noisy than one
    assert len(losses) == 300 and last < losses[0][1] / 2, (losses[0], last)
    valid = [r for r in read(run / "metrics.jsonl") if r["kind"] == "valid"]
    steps = [r["step"] for r in valid]  # every 150 steps and at each epoch end (50 steps)
    assert steps == [50, 100, 150, 200, 250, 300]
    assert all(0 <= r["bleu"] <= 100 and r["ppl"] > 1 for r in valid)
    assert valid[-1]["nll"] < valid[0]["nll"] and valid[-1]["bleu"] > valid[0]["bleu"]
    # the training loss is label-smoothed and named so; validation's is plain cross-entropy
    train = [r for r in read(run / "metrics.jsonl") if r["kind"] == "train"]
    assert all("ppl" not in r and "loss" not in r for r in train)
    assert all(r["smoothed_ppl"] == pytest.approx(math.exp(r["smoothed_loss"])) for r in train)
    assert all(r["ppl"] == pytest.approx(math.exp(r["nll"])) for r in valid)
    assert (run / "checkpoints" / "best.pt").is_file()
    print(f"loss {losses[0][1]:.2f} -> {last:.2f}; valid BLEU {valid[-1]['bleu']:.2f}")


def test_checkpoint_describes_itself(tmp_path):
    run = _train(tmp_path, "run", "train.max_steps=3", "train.save_every=1", "train.keep_last=2")
    payload = ckpt.load(run / "checkpoints" / "last.pt")
    assert payload.config["model"]["encoder"]["gru"]["hidden_size"] == 32
    assert payload.training["progress"]["step"] == 3
    assert {"optimizer", "scheduler", "rng"} <= payload.training.keys()
    tok = payload.tokenizer
    assert tok.src_vocab_size == 500
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*.pt")) == [
        "step_00000002.pt",
        "step_00000003.pt",
    ]
    assert (run / "tokenizer" / "joint.model").is_file() and (run / "config.yaml").is_file()
    # validated on data.limit_valid=200 of the 1,014 pairs of val
    assert len((run / "valid_hypotheses.txt").read_text().splitlines()) == 200


def test_nonfinite_losses_skip_then_abort(tmp_path, monkeypatch):
    from seq2seq.training import loss as loss_module

    real = loss_module.batch_loss

    def poisoned(*args, **kw):
        return real(*args, **kw) * float("nan")

    monkeypatch.setattr("seq2seq.training.step.batch_loss", poisoned)
    cfg, ov = train_config(tmp_path, "train.max_steps=10", "train.max_nonfinite=3")
    before = None
    with pytest.raises(UserError, match="3 non-finite losses in a row at step 1"):
        before = run_training(cfg, tmp_path / "run", ov)
    assert before is None
    saved = ckpt.load(tmp_path / "run" / "checkpoints" / "last.pt")
    assert saved.training["progress"]["step"] == 0  # the untouched initial checkpoint is there


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_code_carrying_checkpoint_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": ckpt.FORMAT, "model": _Evil()}, f)
    torch.save(
        {"format": ckpt.FORMAT, "config": {}, "tokenizer": {}, "model": _Evil()},
        tmp_path / "evil2.pt",
    )
    for path in (evil, tmp_path / "evil2.pt"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(UserError, match=f"^{re.escape(str(path))}: refused: it holds"):
                ckpt.load(path)
        assert not caught, [str(w.message) for w in caught]  # torch's, on a bare pickle's protocol
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_truncated_checkpoint_is_refused(tmp_path):
    run = _train(tmp_path, "run", "train.max_steps=1")
    data = (run / "checkpoints" / "last.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="cut.pt: not a readable checkpoint"):
        ckpt.load(tmp_path / "cut.pt")


def test_bad_resume_inputs(tmp_path):
    run = _train(tmp_path, "run", "train.max_steps=1")
    cases = [
        (["train.resume=/nonexistent/run"], "/nonexistent/run: no such checkpoint file"),
        ([f"train.resume={tmp_path}"], "run directory without checkpoints/last.pt"),
        (
            [
                f"train.resume={run}",
                "model.decoder.gru.hidden_size=32",
                "model.decoder.gru.input_size=32",
            ],
            "model.decoder.gru.input_size=32 (checkpoint: 64): train.resume holds a checkpoint of "
            "another architecture",
        ),
    ]
    for overrides, message in cases:
        cfg, ov = train_config(tmp_path, *overrides, tiny=False)
        with pytest.raises(UserError) as err:
            run_training(cfg, tmp_path / "other", ov)
        assert message in str(err.value)
    # a training into a run that holds checkpoints resumes that run or is refused: a new one, or
    # one resuming another run, would overwrite them
    second = _train(tmp_path, "second", "train.max_steps=1")
    saved = (run / "checkpoints" / "last.pt").read_bytes()
    for overrides in ([], [f"train.resume={second}"]):
        cfg, ov = train_config(tmp_path, *overrides)
        with pytest.raises(UserError, match=f"^hydra.run.dir={run}: holds the checkpoints of a "
                           r"training already \(best.pt, last.pt\), which a new one would "
                           f"overwrite; continue it with train.resume={run}, or"):
            run_training(cfg, run, ov)
    assert (run / "checkpoints" / "last.pt").read_bytes() == saved
    cfg, ov = train_config(tmp_path, f"train.resume={run / 'checkpoints' / 'last.pt'}",
                           "train.max_steps=2")
    run_training(cfg, run, ov)  # its own checkpoint: resumed


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_asked_for_on_a_cpu_names_what_asked_for_it(tmp_path):
    """hardware=gpu sets train.device=cuda: the line names the group the user typed."""
    for overrides, message in [
        (["hardware=gpu"], "hardware=gpu sets train.device=cuda: no CUDA device is available "
         "here; use auto or cpu"),
        (["train.device=cuda"], "train.device=cuda: no CUDA device is available here"),
    ]:
        cfg, ov = train_config(tmp_path, *overrides)
        with pytest.raises(UserError, match=f"^{re.escape(message)}"):
            run_training(cfg, tmp_path / "run", ov)
    cfg, ov = train_config(tmp_path, "hardware=gpu", "train.device=cpu", "train.max_steps=1",
                           "train.max_tokens=700", "train.precision=fp32")
    run_training(cfg, tmp_path / "run", ov)  # the device set after the group wins
    assert (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_a_run_resumed_into_another_directory_has_the_best_it_resumed_with(tmp_path):
    """Its best.pt came only with a better validation: `seq2seq-evaluate run_dir=BRANCH` found
    no best.pt when none came."""
    run = _train(tmp_path, "run", "train.max_steps=2")
    cfg, ov = train_config(tmp_path, f"train.resume={run}", "train.max_steps=2")
    run_training(cfg, tmp_path / "branch", ov)
    best = (run / "checkpoints" / "best.pt").read_bytes()
    assert (tmp_path / "branch" / "checkpoints" / "best.pt").read_bytes() == best


def test_missing_data_files(tmp_path):
    cfg, ov = train_config(
        tmp_path,
        "data=files",
        f"data.train={tmp_path}/nothing",
        "data.src_lang=de",
        "data.tgt_lang=en",
    )
    with pytest.raises(UserError, match=r"nothing\.de: file not found"):
        run_training(cfg, tmp_path / "run", ov)


def test_training_time_adds_up_over_resumes_and_bounds_max_minutes(tmp_path):
    run = _train(tmp_path, "run", "train.max_steps=3")
    records = read(run / "metrics.jsonl")
    elapsed = [r["elapsed_s"] for r in records]
    assert elapsed == sorted(elapsed) and elapsed[-1] > 0
    last = run / "checkpoints" / "last.pt"
    payload = ckpt.load(last)
    assert payload.training["progress"]["seconds"] == pytest.approx(elapsed[-1], abs=0.01)
    # as if the run had already trained for 10 minutes before this checkpoint
    payload.training["progress"]["seconds"] = 600.0
    ckpt.save_atomic(payload, last)
    cfg, ov = train_config(tmp_path, "train.max_steps=50", "train.max_minutes=10",
                           f"train.resume={run}")
    run_training(cfg, run, ov)
    # the bound was already reached: no further step, though max_steps allows 47 more
    assert max(r["step"] for r in read(run / "metrics.jsonl")) == 3
    assert ckpt.load(last).training["progress"]["seconds"] >= 600.0

    cfg, ov = train_config(tmp_path, "train.max_steps=5", "train.max_minutes=11",
                           f"train.resume={run}")
    run_training(cfg, run, ov)
    after = [r for r in read(run / "metrics.jsonl") if r["step"] > 3]
    assert [r["step"] for r in after if r["kind"] == "train"] == [4, 5]
    # a step can take under a millisecond: time never goes back, and two steps add some
    assert all(r["elapsed_s"] >= 600.0 for r in after) and after[-1]["elapsed_s"] > 600.0


PLATEAU = ["train.seed=3", "train.valid_every=15", "train.schedule=plateau",
           "train.plateau_patience=0", "train.max_epochs=0"]


def test_a_budget_stop_then_resume_equals_one_run_with_the_larger_budget(tmp_path):
    """20 steps, then resumed to 40, is the 40-step run: the validation made at the stop
    (step 20, not a multiple of valid_every) feeds neither the plateau schedule nor patience."""
    straight = _train(tmp_path, "straight", *PLATEAU, "train.max_steps=40", "train.patience=2")
    split = _train(tmp_path, "split", *PLATEAU, "train.max_steps=20", "train.patience=2")
    at_stop = [r for r in read(split / "metrics.jsonl") if r["kind"] == "valid"][-1]
    assert at_stop["step"] == 20 and at_stop["scheduled"] is False
    cfg, ov = train_config(tmp_path, "train.max_steps=40", f"train.resume={split}", tiny=False)
    run_training(cfg, split, ov)
    assert _losses(split) == _losses(straight)
    a, b = _params(straight), _params(split)
    assert all(torch.equal(a[k], b[k]) for k in a)
    lr = [ckpt.load(r / "checkpoints" / "last.pt").training["optimizer"]["param_groups"][0]["lr"]
          for r in (straight, split)]
    assert lr[0] == lr[1]


def test_an_early_stop_then_resume_with_more_patience_equals_one_patient_run(tmp_path):
    patient = _train(tmp_path, "patient", *PLATEAU, "train.max_steps=75", "train.patience=4")
    early = _train(tmp_path, "early", *PLATEAU, "train.max_steps=75", "train.patience=1")
    progress = ckpt.load(early / "checkpoints" / "last.pt").training["progress"]
    assert progress["step"] < 75 and progress["step"] % 15 == 0  # stopped early, at a validation
    assert progress["bad_validations"] == 1
    cfg, ov = train_config(tmp_path, "train.patience=4", f"train.resume={early}", tiny=False)
    run_training(cfg, early, ov)
    assert _losses(early) == _losses(patient)
    a, b = _params(patient), _params(early)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_failed_checkpoint_write_keeps_the_previous_one_and_stops_in_one_line(
        tmp_path, monkeypatch):
    """Disk full (ENOSPC) while saving at step 4: last.pt stays the complete step-2 checkpoint,
    no temporary file is left, and training stops with one line."""
    import errno

    real_save, calls = torch.save, []

    def save(obj, f, *args, **kwargs):
        calls.append(obj["progress"]["step"] if "progress" in obj else None)
        if len(calls) == 3:  # the initial checkpoint, step 2, then step 4 fails
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(ckpt.torch, "save", save)
    cfg, ov = train_config(tmp_path, "train.max_steps=10", "train.save_every=2",
                           "train.valid_every=0")
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    with pytest.raises(UserError) as caught:
        run_training(cfg, tmp_path / "run", ov)
    assert str(caught.value) == (f"{last}: cannot write the checkpoint (No space left on "
                                 "device); the previous last.pt is intact")
    assert calls == [0, 2, 4]
    assert ckpt.load(last).training["progress"]["step"] == 2
    assert not list(last.parent.glob(".*.tmp*"))


TIED_WORDS = ["model.encoder.tie_embeddings=true", "model.encoder.gru.input_size=64",
              "model.encoder.word_dropout=0.2", "model.decoder.word_dropout=0.2"]


def test_tied_embeddings_and_word_dropout_resume_exactly_and_load_tied(tmp_path):
    from seq2seq.decoding.loading import open_model

    straight = _train(tmp_path, "straight", *TIED_WORDS, "train.max_steps=16")
    split = _train(tmp_path, "split", *TIED_WORDS, "train.max_steps=8")
    cfg, ov = train_config(tmp_path, "train.max_steps=16", f"train.resume={split}", tiny=False)
    run_training(cfg, split, ov)
    assert _losses(split) == _losses(straight) and len(_losses(split)) == 16
    a, b = _params(straight), _params(split)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(a["encoder.embed.weight"], a["decoder.embed.weight"])
    model = open_model(straight, device="cpu").model
    assert model.encoder.embed.weight is model.decoder.embed.weight
    assert model.decoder.output.weight is model.decoder.embed.weight
