"""`seq2seq-prepare`: fetch the corpus, train or reuse the tokenizer, encode, report the time."""

from __future__ import annotations

import logging
import time

from seq2seq.apps import PrepareApp
from seq2seq.cli import hydra_app, run_dir
from seq2seq.data.pipeline import encode_split, prepare, read_split_text

log = logging.getLogger(__name__)


@hydra_app("prepare")
def main(cfg: PrepareApp) -> None:
    """Prepare the configured corpus; the tokenizer lands in the run directory."""
    start = time.perf_counter()
    prepared = prepare(cfg.data, cfg.tokenizer)
    tests = [
        encode_split(name, *read_split_text(cfg.data, name), prepared.tokenizer)
        for name in cfg.data.test
    ]
    prepared.tokenizer.save(run_dir() / "tokenizer")
    tok = prepared.tokenizer
    for split in [prepared.train, prepared.valid, *tests]:
        n_src = sum(map(len, split.src_ids))
        n_tgt = sum(map(len, split.tgt_ids))
        log.info(
            "%s: %d pairs, %d source and %d target subwords", split.name, len(split), n_src, n_tgt
        )
    log.info(
        "vocabulary: %d source, %d target (%s); tokenizer saved in %s",
        tok.src_vocab_size,
        tok.tgt_vocab_size,
        "joint" if tok.joint else "separate",
        run_dir() / "tokenizer",
    )
    print(
        f"prepared {cfg.data.src_lang}-{cfg.data.tgt_lang} in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
