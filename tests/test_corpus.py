"""Reading parallel files: alignment, encoding and empty/missing files; pair filters."""

from __future__ import annotations

import gzip

import pytest

from seq2seq.config import DataConfig
from seq2seq.data.corpus import SplitFiles, filter_pairs, read_lines, read_parallel, split_files
from seq2seq.errors import UserError


def test_plain_and_gzip_read_the_same(tmp_path):
    text = "ein Hund\r\nzwei Katzen\n\ndrei\n"
    (tmp_path / "a.de").write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "b.de.gz", "wt", encoding="utf-8") as f:
        f.write(text)
    assert read_lines(tmp_path / "a.de") == ["ein Hund", "zwei Katzen", "", "drei"]
    assert read_lines(tmp_path / "b.de.gz") == read_lines(tmp_path / "a.de")
    (tmp_path / "bom.de").write_text(text, encoding="utf-8-sig")  # a byte-order mark first
    assert read_lines(tmp_path / "bom.de") == read_lines(tmp_path / "a.de")


def test_misaligned_files_name_both_files_and_counts(tmp_path):
    (tmp_path / "t.de").write_text("a\nb\nc\n")
    (tmp_path / "t.en").write_text("a\nb\n")
    with pytest.raises(UserError) as err:
        read_parallel(SplitFiles(tmp_path / "t.de", tmp_path / "t.en"))
    msg = str(err.value)
    assert "t.de has 3 lines" in msg and "t.en has 2" in msg


def test_invalid_utf8_names_file_and_line(tmp_path):
    (tmp_path / "bad.de").write_bytes(b"gut\nauch gut\nschlecht \xff\xfe\n")
    with pytest.raises(UserError, match=r"bad\.de:3: invalid UTF-8"):
        read_lines(tmp_path / "bad.de")


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.de").write_bytes(b"")
    with pytest.raises(UserError, match=r"empty\.de: file is empty"):
        read_lines(tmp_path / "empty.de")
    with pytest.raises(UserError, match=r"nothere\.de: file not found"):
        read_lines(tmp_path / "nothere.de")


def test_files_corpus_prefixes_accept_gz_and_name_missing_files(tmp_path):
    (tmp_path / "c.de").write_text("x\n")
    with gzip.open(tmp_path / "c.en.gz", "wt") as f:
        f.write("y\n")
    data = DataConfig(corpus="files", src_lang="de", tgt_lang="en")
    files = split_files(data, str(tmp_path / "c"))
    assert read_parallel(files) == (["x"], ["y"])
    with pytest.raises(UserError, match=r"missing\.de: file not found .*PREFIX\.de"):
        split_files(data, str(tmp_path / "missing"))
    (tmp_path / "d.de").mkdir()  # a prefix whose .de path is a directory
    (tmp_path / "d.en").write_text("y\n")
    with pytest.raises(UserError, match=r"d\.de: is a directory, not a file \(a path prefix reads"):
        split_files(data, str(tmp_path / "d"))
    with pytest.raises(UserError, match=r"d\.de: is a directory, not a file$"):
        read_lines(tmp_path / "d.de")


def test_limit_takes_the_first_pairs(tmp_path):
    (tmp_path / "p.de").write_text("1\n2\n3\n")
    (tmp_path / "p.en").write_text("a\nb\nc\n")
    assert read_parallel(SplitFiles(tmp_path / "p.de", tmp_path / "p.en"), limit=2) == (
        ["1", "2"],
        ["a", "b"],
    )


def test_filters_count_every_drop():
    src = [[1, 2], [], [1] * 10, [1], [1] * 3]
    tgt = [[3, 4], [5], [2] * 10, [2] * 5, [2] * 4]
    keep, stats = filter_pairs(src, tgt, min_len=1, max_len=8, max_ratio=3.0)
    assert keep == [0, 4]
    assert stats.kept == 2
    assert stats.dropped == {"empty side": 1, "longer than 8": 1, "length ratio above 3.0": 1}
    assert "dropped: 1 empty side" in stats.summary()
