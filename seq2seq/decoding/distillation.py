"""Sequence-level knowledge distillation (Kim and Rush, 2016): a teacher model or ensemble
translates its run's training source with beam search; a student trains on those translations
(optionally mixed with the reference pairs) as on any corpus: data.train=PREFIX."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from seq2seq.apps import DistillApp
from seq2seq.data.multi30k import sha256_of
from seq2seq.data.pipeline import read_split_text
from seq2seq.decoding.loading import open_configured
from seq2seq.errors import UserError
from seq2seq.evaluation.splits import run_data_config
from seq2seq.files import write_text_atomic

log = logging.getLogger(__name__)


def distill(cfg: DistillApp, overrides: list[str]) -> dict:
    """Translate the teacher run's training source; write PREFIX.SRC, PREFIX.TGT (one pair a
    line) and PREFIX.json (teachers, decoding, minutes); return what PREFIX.json holds."""
    if not cfg.output:
        raise UserError("output: a value is required (output=PREFIX, e.g. "
                        "output=data/distilled/train; PREFIX.SRC and PREFIX.TGT are written)")
    start = time.perf_counter()
    loaded = open_configured(cfg, overrides)
    data = run_data_config(loaded.config, cfg, overrides)
    src, ref = read_split_text(data, data.train, limit=data.limit_train or None)
    hyps = loaded.search(loaded.tokenizer.encode_src(src), cfg.decode, progress=cfg.progress)
    out = loaded.tokenizer.decode_tgt([h[0].tokens for h in hyps])
    seconds = time.perf_counter() - start
    sources, targets = (src + src, out + ref) if cfg.mix_references else (src, out)
    prefix = Path(cfg.output)
    record = {
        "teachers": [{"checkpoint": str(p), "sha256": sha256_of(p)} for p in loaded.members],
        "decode": dataclasses.asdict(cfg.decode), "split": data.train,
        "pair": f"{data.src_lang}-{data.tgt_lang}", "sentences": len(src),
        "pairs_written": len(sources), "mix_references": cfg.mix_references,
        "seconds": seconds, "minutes": seconds / 60, "sentences_per_s": len(src) / seconds,
    }
    files = {data.src_lang: "".join(line + "\n" for line in sources),
             data.tgt_lang: "".join(line + "\n" for line in targets),
             "json": json.dumps(record, indent=2) + "\n"}
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        for suffix, text in files.items():
            write_text_atomic(Path(f"{prefix}.{suffix}"), text)
    except OSError as exc:
        raise UserError(f"output={prefix}: cannot write there ({exc.strerror or exc})") from exc
    print(f"distilled {len(src)} sentences in {seconds / 60:.1f} min "
          f"({len(src) / seconds:.1f} sentences/s): {prefix}.{data.src_lang}, "
          f"{prefix}.{data.tgt_lang} ({len(sources)} pairs)")
    print(f"train a student on them: seq2seq-train data.train={prefix} ...")
    return record
