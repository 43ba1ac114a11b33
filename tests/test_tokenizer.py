"""sentencepiece tokenizer: round trip on Multi30k val, special ids, reuse, errors."""

from __future__ import annotations

import logging
import unicodedata

import pytest

from seq2seq.config import TokenizerConfig
from seq2seq.data.corpus import read_lines
from seq2seq.data.tokenizer import Tokenizer, _cache_key, train_or_reuse
from seq2seq.errors import UserError


def nmt_normalised(s: str) -> str:
    """What sentencepiece's default nmt_nfkc rule does to plain text: NFKC, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", s).split())


@pytest.mark.parametrize("lang", ["de", "en"])
def test_round_trip_every_val_sentence(small_tokenizer, mirror, lang):
    val = read_lines(mirror / f"val.{lang}.gz")
    decoded = small_tokenizer.decode_tgt(small_tokenizer.encode_src(val))
    assert len(val) == 1014
    mismatches = [(s, d) for s, d in zip(val, decoded, strict=True) if d != nmt_normalised(s)]
    assert mismatches == []
    # NFKC matters here: at least one val sentence holds a no-break space
    assert sum(s != d for s, d in zip(val, decoded, strict=True)) <= 2


def test_special_ids_are_as_configured(mirror, tmp_path):
    lines = read_lines(mirror / "val.en.gz")
    cfg = TokenizerConfig(vocab_size=300, pad_id=3, unk_id=0, bos_id=1, eos_id=2)
    tok = train_or_reuse(cfg, lines, lines, tmp_path)
    assert (tok.special.pad, tok.special.unk, tok.special.bos, tok.special.eos) == (3, 0, 1, 2)
    assert tok.src_vocab_size == tok.tgt_vocab_size == 300
    assert tok.tgt.id_to_piece(3) == "<pad>"


def test_the_cache_key_is_unmoved_by_keys_that_do_not_make_the_model():
    """The key of the default settings is the one caches were written under before
    tokenizer.reuse and the sampling keys existed: adding such a key retrains nothing."""
    key = _cache_key(TokenizerConfig(), ["ein Satz"], ["a sentence"])
    assert key == "27a8a04ba05f13a3da70"  # at commit a0c98a1, before tokenizer.reuse
    used = TokenizerConfig(reuse="runs/teacher", sampling_alpha=0.1, sampling_nbest=64)
    assert _cache_key(used, ["ein Satz"], ["a sentence"]) == key
    assert _cache_key(TokenizerConfig(vocab_size=4000), ["ein Satz"], ["a sentence"]) != key


def test_reused_when_same_settings_and_data(mirror, tmp_path):
    de = read_lines(mirror / "val.de.gz")
    en = read_lines(mirror / "val.en.gz")
    cfg = TokenizerConfig(vocab_size=400, joint=False, model_type="bpe")
    first = train_or_reuse(cfg, de, en, tmp_path)
    folders = list((tmp_path / "tokenizers").iterdir())
    stamp = (folders[0] / "src.model").stat().st_mtime_ns
    second = train_or_reuse(cfg, de, en, tmp_path)
    assert (folders[0] / "src.model").stat().st_mtime_ns == stamp
    assert second.src_proto == first.src_proto and second.tgt_proto == first.tgt_proto
    assert not first.joint and first.src_proto != first.tgt_proto
    train_or_reuse(TokenizerConfig(vocab_size=401, joint=False, model_type="bpe"), de, en, tmp_path)
    assert len(list((tmp_path / "tokenizers").iterdir())) == 2


def test_save_and_load(small_tokenizer, tmp_path):
    small_tokenizer.save(tmp_path / "tok")
    again = Tokenizer.load(tmp_path / "tok")
    assert again.encode_src(["Ein Hund läuft."]) == small_tokenizer.encode_src(["Ein Hund läuft."])
    with pytest.raises(UserError, match="tokenizer model not found"):
        Tokenizer.load(tmp_path / "nothing")


def test_vocab_too_large_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match=r"tokenizer.vocab_size=50000: too large .* at most \d+"):
        train_or_reuse(
            TokenizerConfig(vocab_size=50000), ["ein kleiner Test"] * 50, ["a test"] * 50, tmp_path
        )


def test_vocab_too_small_is_a_clear_error(tmp_path):
    # e i n k l r T s t a and the word boundary, with pad, unk, bos and eos: 15 pieces at least
    with pytest.raises(UserError, match=r"tokenizer.vocab_size=10: too small .* at least 15,"):
        train_or_reuse(
            TokenizerConfig(vocab_size=10), ["ein kleiner Test"] * 50, ["a test"] * 50, tmp_path
        )


def test_a_cache_it_cannot_write_is_a_warning_not_a_claim(tmp_path, caplog):
    (tmp_path / "cache").write_text("a file where the cache folder would go")
    with caplog.at_level(logging.INFO, logger="seq2seq.data.tokenizer"):
        tok = train_or_reuse(TokenizerConfig(vocab_size=18), ["ein kleiner Test"] * 50,
                             ["a test"] * 50, tmp_path / "cache")
    assert tok.encode_src(["ein Test"])
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(said) == 1 and said[0][0] == "WARNING", said
    assert said[0][1].startswith("tokenizer: trained, but could not cache it in ")
