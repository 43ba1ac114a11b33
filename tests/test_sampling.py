"""seq2seq.data.sampling: subword sampling draws a segmentation per epoch for training pairs,
reproducibly (resume, ranks), and never for validation, test or translation."""

from __future__ import annotations

import pytest
import torch
from training import train_config

from seq2seq import checkpoint as ckpt
from seq2seq.composition import compose
from seq2seq.config import TokenizerConfig
from seq2seq.data.corpus import read_lines
from seq2seq.data.pipeline import encode_split
from seq2seq.data.sampling import EpochSegmentation
from seq2seq.data.tokenizer import train_or_reuse
from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError
from seq2seq.training.metrics import read
from seq2seq.training.run import run_training


def _split(tokenizer, mirror, n=300):
    de = read_lines(mirror / "train.de.gz")[:n]
    en = read_lines(mirror / "train.en.gz")[:n]
    return encode_split("train", de, en, tokenizer)


def _segmentation(split, tokenizer, alpha, nbest=-1, seed=1):
    cfg = TokenizerConfig(sampling_alpha=alpha, sampling_nbest=nbest)
    return EpochSegmentation(split, tokenizer, cfg, seed)


def test_without_sampling_every_epoch_sees_the_best_segmentation(small_tokenizer, mirror):
    split = _split(small_tokenizer, mirror)
    seg = _segmentation(split, small_tokenizer, 0.0)
    assert seg.ids(0) == seg.ids(3) == (split.src_ids, split.tgt_ids)


def test_sampling_draws_anew_each_epoch_and_the_same_again_for_the_same_seed(small_tokenizer,
                                                                           mirror):
    split = _split(small_tokenizer, mirror)
    seg = _segmentation(split, small_tokenizer, 0.2)
    src0, tgt0 = seg.ids(0)
    src1, _ = seg.ids(1)
    changed = sum(a != b for a, b in zip(src0, split.src_ids, strict=True))
    assert changed > len(split) // 4  # most long sentences get another segmentation
    assert sum(a != b for a, b in zip(src0, src1, strict=True)) > len(split) // 4
    # the text is unchanged: each sampled segmentation decodes to the sentence
    assert small_tokenizer.decode_tgt(tgt0) == small_tokenizer.decode_tgt(split.tgt_ids)
    # a resumed run (a new object, the same seed) and another rank see the same ids
    again = _segmentation(split, small_tokenizer, 0.2)
    assert again.ids(1) == seg.ids(1) and again.ids(0) == (src0, tgt0)
    other_seed = _segmentation(split, small_tokenizer, 0.2, seed=2)
    assert other_seed.ids(0)[0] != src0


def test_bpe_dropout_splits_words_further(mirror, tmp_path):
    de = read_lines(mirror / "train.de.gz")[:3000]
    en = read_lines(mirror / "train.en.gz")[:3000]
    bpe = train_or_reuse(TokenizerConfig(model_type="bpe", vocab_size=1000), de, en, tmp_path)
    split = encode_split("train", de[:300], en[:300], bpe)
    src, _ = _segmentation(split, bpe, 0.3).ids(0)
    assert sum(map(len, src)) > 1.2 * sum(map(len, split.src_ids))  # merges dropped


def test_sampling_settings_do_not_change_the_tokenizer_model(small_tokenizer, mirror, tmp_path):
    de = read_lines(mirror / "train.de.gz")[:3000]
    en = read_lines(mirror / "train.en.gz")[:3000]
    on = train_or_reuse(TokenizerConfig(vocab_size=1000, sampling_alpha=0.1), de, en, tmp_path)
    off = train_or_reuse(TokenizerConfig(vocab_size=1000), de, en, tmp_path)
    assert on.src_proto == off.src_proto
    assert len(list((tmp_path / "tokenizers").iterdir())) == 1


def test_unigram_sampling_from_one_best_is_refused():
    with pytest.raises(UserError, match=r"tokenizer.sampling_nbest=1: unigram sampling needs"):
        compose("train", ["tokenizer.sampling_alpha=0.1", "tokenizer.sampling_nbest=1"])
    compose("train", ["tokenizer.model_type=bpe", "tokenizer.sampling_alpha=0.1",
                      "tokenizer.sampling_nbest=1"])  # bpe ignores nbest


SAMPLED = ["tokenizer.sampling_alpha=0.3", "train.seed=3", "train.max_epochs=0",
           "train.valid_every=10"]


def _run(tmp_path, name, *overrides):
    cfg, ov = train_config(tmp_path, *SAMPLED, *overrides)
    run_training(cfg, tmp_path / name, ov)
    return tmp_path / name


def test_training_with_sampling_resumes_exactly_and_decodes_deterministically(tmp_path):
    straight = _run(tmp_path, "straight", "train.max_steps=30")
    plain = _run(tmp_path, "plain", "train.max_steps=30", "tokenizer.sampling_alpha=0")
    loss = lambda run: [(r["step"], r["smoothed_loss"])  # noqa: E731
                        for r in read(run / "metrics.jsonl") if r["kind"] == "train"]
    assert loss(straight) != loss(plain)  # sampling reached the batches
    split = _run(tmp_path, "split", "train.max_steps=15")
    cfg, ov = train_config(tmp_path, "train.max_steps=30", f"train.resume={split}", tiny=False)
    run_training(cfg, split, ov)
    assert loss(split) == loss(straight)
    a = ckpt.load(straight / "checkpoints" / "last.pt").weights
    b = ckpt.load(split / "checkpoints" / "last.pt").weights
    assert all(torch.equal(a[k], b[k]) for k in a)
    translator = Translator.load(straight, which="last", device="cpu")
    text = ["Ein Mann fährt Fahrrad auf einer Straße.", "Zwei Hunde spielen im Schnee."]
    first = translator.translate(text)
    assert translator.translate(text) == first and len(first) == 2
    assert translator.tokenizer.encode_src(text) == translator.tokenizer.encode_src(text)
