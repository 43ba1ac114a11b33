"""Batch translation for pipes and files: one output line per input line, in order."""

from __future__ import annotations

import gzip
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError

log = logging.getLogger(__name__)


def decode_line(raw: bytes, where: str) -> str:
    """A line as text; bytes that are not UTF-8 become U+FFFD, with a warning naming where."""
    raw = raw.rstrip(b"\r")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        log.warning(
            "%s: bytes that are not UTF-8 (at byte %d) replaced by U+FFFD", where, exc.start
        )
        return raw.decode("utf-8", errors="replace")


def chunks(stream: BinaryIO, size: int) -> Iterator[list[bytes]]:
    """Lines of stream (without newlines) in lists of up to size lines."""
    chunk = []
    for raw in stream:
        chunk.append(raw.rstrip(b"\n"))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def translate_chunk(
    translator: Translator, lines: list[str], first: int, name: str, show_scores: bool
) -> list[str]:
    """Output lines for input lines (numbered from first); empty input gives empty output."""
    results = translator.translate_lines(lines, where=lambda i: f"{name}:{first + i}")
    return [
        (f"{nbest[0].text}\t{nbest[0].score:.4f}" if show_scores and lines[i].strip()
         else nbest[0].text)
        for i, nbest in enumerate(results)
    ]


@contextmanager
def _opened(input_path: str | None, output_path: str | None):
    """(binary input, text output); a named output file appears only once complete."""
    if input_path and not Path(input_path).is_file():
        what = "a folder, not a file" if Path(input_path).is_dir() else "file not found"
        raise UserError(f"input={input_path}: {what}")
    src = (
        (gzip.open if str(input_path).endswith(".gz") else open)(input_path, "rb")
        if input_path
        else sys.stdin.buffer
    )
    tmp = None
    if output_path:
        tmp = Path(output_path).with_name(f".{Path(output_path).name}.tmp{os.getpid()}")
        try:
            dst: TextIO = open(tmp, "w", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"output={output_path}: cannot write ({exc.strerror})") from exc
    else:
        dst = sys.stdout
    try:
        yield src, dst
        if tmp is not None:
            dst.close()
            os.replace(tmp, output_path)
    finally:
        if tmp is not None and tmp.exists():
            dst.close()
            tmp.unlink()
        if input_path:
            src.close()


def translate_stream(
    translator: Translator, input_path: str | None, output_path: str | None, show_scores: bool
) -> int:
    """Translate every line of input (stdin) to output (stdout); returns the line count."""
    name = input_path or "<stdin>"
    start, count = time.perf_counter(), 0
    with _opened(input_path, output_path) as (src, dst):
        for chunk in chunks(src, translator.decode.batch_size * 16):
            lines = [decode_line(raw, f"{name}:{count + i + 1}") for i, raw in enumerate(chunk)]
            for line in translate_chunk(translator, lines, count + 1, name, show_scores):
                dst.write(line + "\n")
            dst.flush()
            count += len(chunk)
    seconds = time.perf_counter() - start
    log.info(
        "translated %d lines in %.1f s (%.1f sentences/s)",
        count,
        seconds,
        count / max(seconds, 1e-9),
    )
    return count
