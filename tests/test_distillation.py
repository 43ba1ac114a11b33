"""seq2seq-distill (seq2seq.decoding.distillation): a teacher translates its training source into
a training set, and a student trained on it is a loadable run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_module
from training import train_config

from seq2seq.data.corpus import read_lines
from seq2seq.decoding.loading import open_model
from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError
from seq2seq.training.run import run_training

DECODE = ["decode.beam_size=2", "decode.max_len_a=1.0", "decode.max_len_b=5"]


def test_a_teacher_distils_its_training_source_and_a_student_learns_from_it(
        trained_run, mirror, tmp_path):
    prefix = tmp_path / "distilled" / "train"
    proc = run_module("seq2seq.distill", f"run_dir={trained_run}", f"output={prefix}",
                      "data.limit_train=150", "mix_references=true", "progress=false", *DECODE)
    assert proc.returncode == 0, proc.stderr
    src = read_lines(mirror / "train.de.gz")[:150]
    refs = read_lines(mirror / "train.en.gz")[:150]
    de, en = read_lines(Path(f"{prefix}.de")), read_lines(Path(f"{prefix}.en"))
    assert de == src + src and en[150:] == refs
    teacher = Translator.load(trained_run, device="cpu", beam_size=2, max_len_a=1.0, max_len_b=5)
    assert en[:150] == teacher.translate(src)
    record = json.loads(Path(f"{prefix}.json").read_text())
    assert record["sentences"] == 150 and record["pairs_written"] == 300
    assert record["teachers"][0]["checkpoint"].endswith("best.pt") and record["minutes"] > 0
    assert f"seq2seq-train data.train={prefix}" in proc.stdout
    # the student trains on the distilled set with its teacher's tokenizer, validating on
    # Multi30k's val as usual, and joins the teacher in an ensemble
    cfg, ov = train_config(tmp_path, f"data.train={prefix}", f"tokenizer.reuse={trained_run}",
                           "train.max_steps=3", "train.max_epochs=0")
    run_training(cfg, tmp_path / "student", ov)
    student = open_model(tmp_path / "student", device="cpu")
    assert student.config["data"]["train"] == str(prefix)
    assert student.tokenizer.src_proto == teacher.tokenizer.src_proto
    assert not (tmp_path / "cache" / "tokenizers").exists()  # nothing trained
    both = open_model(tmp_path / "student", ensemble=[trained_run], device="cpu")
    assert both.search(student.tokenizer.encode_src(src[:3]), cfg.decode)


def test_reusing_the_tokenizer_of_a_missing_run_names_the_key(tmp_path):
    cfg, ov = train_config(tmp_path, f"tokenizer.reuse={tmp_path / 'nowhere'}")
    with pytest.raises(UserError, match=r"^tokenizer.reuse=.*nowhere: .*no such checkpoint"):
        run_training(cfg, tmp_path / "run", ov)


def test_distill_needs_an_output_prefix(trained_run):
    proc = run_module("seq2seq.distill", f"run_dir={trained_run}")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: output: a value is required (output=PREFIX")
