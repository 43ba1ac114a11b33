"""Parallel text: reading plain or gzip files strictly as UTF-8, pairing, and filtering pairs."""

from __future__ import annotations

import codecs
import gzip
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from seq2seq.config import DataConfig
from seq2seq.data import multi30k
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


def _missing(path: Path) -> str:
    """Why path is no readable file."""
    if path.is_dir():
        return "is a directory, not a file"
    return "file not found" if not path.exists() else "not a regular file"


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (plain or .gz), without line endings."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {_missing(path)}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from exc
    if not raw:
        raise UserError(f"{path}: file is empty")
    raw = raw.removeprefix(codecs.BOM_UTF8)  # as some editors on Windows begin UTF-8 files
    rows = raw.split(b"\n")
    if rows[-1] == b"":
        rows.pop()
    lines = []
    for number, row in enumerate(rows, start=1):
        try:
            lines.append(row.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid UTF-8 at byte {exc.start}") from exc
    return lines


@dataclass(frozen=True)
class SplitFiles:
    src: Path
    tgt: Path


def _prefixed(prefix: str, lang: str) -> Path:
    plain = Path(f"{prefix}.{lang}")
    gz = Path(f"{prefix}.{lang}.gz")
    return gz if gz.is_file() and not plain.is_file() else plain


def split_files(data: DataConfig, split: str) -> SplitFiles:
    """The source and target files of a split: a Multi30k split name or a path prefix
    (PREFIX.LANG or PREFIX.LANG.gz; with data.corpus=multi30k, a split with a "/" in it, such
    as a distilled training set beside Multi30k's val and test)."""
    langs = (data.src_lang, data.tgt_lang)
    if data.corpus == "multi30k" and "/" not in split:
        paths = [
            multi30k.fetch(
                split, lang, cache_dir=Path(data.cache_dir), url=data.url, mirror=data.mirror
            )
            for lang in langs
        ]
    else:
        paths = [_prefixed(split, lang) for lang in langs]
        for path in paths:
            if not path.is_file():
                raise UserError(
                    f"{path}: {_missing(path)} (a path prefix reads PREFIX.{data.src_lang} "
                    f"and PREFIX.{data.tgt_lang}, plain or .gz; prefix given: {split!r})"
                )
    return SplitFiles(src=paths[0], tgt=paths[1])


def read_parallel(files: SplitFiles, limit: int | None = None) -> tuple[list[str], list[str]]:
    """Aligned source and target lines; files of different lengths are an error."""
    src, tgt = read_lines(files.src), read_lines(files.tgt)
    if len(src) != len(tgt):
        raise UserError(
            f"{files.src} has {len(src)} lines but {files.tgt} has {len(tgt)}: "
            "parallel files must have one sentence per line on both sides"
        )
    if limit:
        src, tgt = src[:limit], tgt[:limit]
    return src, tgt


@dataclass
class FilterStats:
    kept: int
    dropped: Counter

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items())) or "none"
        return f"kept {self.kept} pairs; dropped: {reasons}"


def filter_pairs(
    src_ids: list[list[int]],
    tgt_ids: list[list[int]],
    *,
    min_len: int,
    max_len: int,
    max_ratio: float,
) -> tuple[list[int], FilterStats]:
    """Indices of pairs to keep: both sides non-empty, within [min_len, max_len] subword tokens,
    and neither side more than max_ratio times longer than the other."""
    keep, dropped = [], Counter()
    for i, (s, t) in enumerate(zip(src_ids, tgt_ids, strict=True)):
        ls, lt = len(s), len(t)
        if ls == 0 or lt == 0:
            dropped["empty side"] += 1
        elif min(ls, lt) < min_len:
            dropped[f"shorter than {min_len}"] += 1
        elif max(ls, lt) > max_len:
            dropped[f"longer than {max_len}"] += 1
        elif max(ls, lt) > max_ratio * min(ls, lt):
            dropped[f"length ratio above {max_ratio}"] += 1
        else:
            keep.append(i)
    return keep, FilterStats(kept=len(keep), dropped=dropped)
