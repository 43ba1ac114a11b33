"""Evaluation: translate test splits, score with sacrebleu, write hypotheses and results.json."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

from seq2seq.apps import EvaluateApp
from seq2seq.checkpoint import run_of
from seq2seq.config import DataConfig, DecodeConfig
from seq2seq.data.multi30k import sha256_of
from seq2seq.data.pipeline import read_split_text
from seq2seq.decoding.loading import Loaded, open_configured
from seq2seq.errors import UserError
from seq2seq.evaluation.scoring import all_scores
from seq2seq.files import write_text_atomic
from seq2seq.overrides import merge_explicit, typed

log = logging.getLogger(__name__)


def decode_tag(cfg: EvaluateApp, precision: str = "fp32") -> str:
    """How the hypotheses were decoded, as a folder name: greedy, beam5, beam5-lp1.5-int8, ...
    naming every setting that changes hypotheses and differs from its default (precision: the
    one decoding ran in, auto resolved)."""
    d, default = cfg.decode, DecodeConfig()
    tag = "greedy" if d.strategy == "greedy" else f"beam{d.beam_size}"
    if d.strategy == "beam" and d.length_penalty != default.length_penalty:
        tag += f"-lp{d.length_penalty:g}"
    if d.max_len_a != default.max_len_a or d.max_len_b != default.max_len_b:
        tag += f"-len{d.max_len_a:g}x+{d.max_len_b}"
    if d.min_len != default.min_len:
        tag += f"-min{d.min_len}"
    if precision != "fp32":
        tag += f"-{precision}"
    return tag + ("-int8" if d.quantize == "int8" else "")


def run_data_config(saved: dict, cfg: EvaluateApp, overrides: list[str]) -> DataConfig:
    """The run's data config with this command line's data.* overrides."""
    merged = merge_explicit({"data": saved["data"]}, cfg, overrides, ("data",))
    data = typed(DataConfig, merged["data"], "data")
    run = typed(DataConfig, saved["data"], "data")
    pair, trained = (data.src_lang, data.tgt_lang), (run.src_lang, run.tgt_lang)
    # Multi30k's language codes mean the languages; a corpus of files may name its sides freely
    if pair != trained and (pair == trained[::-1] or data.corpus == run.corpus == "multi30k"):
        raise UserError(f"data.src_lang={data.src_lang} data.tgt_lang={data.tgt_lang}: the model "
                        f"translates {run.src_lang} into {run.tgt_lang}")
    return data


def _unwritable(folder: Path, exc: OSError) -> UserError:
    return UserError(f"{folder}: cannot write the evaluation there ({exc.strerror or exc}); "
                     "add output_dir=PATH to write it elsewhere")


def _write_atomic(path: Path, text: str) -> None:
    """path holds text or, if anything fails, what it held before (a one-line UserError)."""
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise _unwritable(path.parent, exc) from exc


def _remove_empty(folders: list[Path]) -> None:
    """Remove those of folders (deepest first) that are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (a split's hypotheses were written), or gone
            return


def _earlier_splits(path: Path, results: dict) -> dict:
    """Splits already scored in path (a results.json) with the same checkpoint file, pair and
    decoding, so that scoring one split more keeps the others; {} if anything differs."""
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("checkpoint_sha256", "ensemble", "pair", "decode")
    same = all(earlier.get(k) == results[k] for k in keys)
    splits = earlier.get("splits") if same else None
    return splits if isinstance(splits, dict) else {}


def ensemble_name(members: list[Path]) -> str:
    """ensembleN.<6 hex digits of the members' resolved paths, in order>: two ensembles that
    share their first model get two folders, and the same ensemble typed with relative or
    absolute paths gets one."""
    digest = hashlib.sha256("\n".join(str(p.resolve()) for p in members).encode()).hexdigest()
    return f"ensemble{len(members)}.{digest[:6]}"


def _output_dir(cfg: EvaluateApp, loaded: Loaded) -> Path:
    """cfg.output_dir, else <run>/eval/<checkpoint or ensemble_name>-<decoding>/."""
    if cfg.output_dir:
        return Path(cfg.output_dir)
    members = loaded.members
    name = loaded.path.stem if len(members) == 1 else ensemble_name(members)
    return run_of(loaded.path) / "eval" / f"{name}-{decode_tag(cfg, loaded.precision)}"


def _header(cfg: EvaluateApp, loaded: Loaded, data: DataConfig) -> dict:
    """What results.json says about the model and decoding, before any split."""
    members = loaded.members
    return {
        "checkpoint": str(loaded.path),
        "checkpoint_sha256": sha256_of(loaded.path),
        # an ensemble's models, the first one above included
        "ensemble": [
            {"checkpoint": str(p), "sha256": sha256_of(p)} for p in members
        ] if len(members) > 1 else None,
        "decode": dataclasses.asdict(cfg.decode),
        "precision": loaded.precision,  # decode.precision as decoding ran (auto resolved)
        "pair": f"{data.src_lang}-{data.tgt_lang}",
        "parameters": loaded.parameters,
    }


def _write_hypotheses(out_dir: Path, name: str, tok, hyps: list, n_best: int) -> list[str]:
    """<name>.hyp (and <name>.nbest.tsv with n_best > 1); returns the best hypotheses' text."""
    text = tok.decode_tgt([h[0].tokens for h in hyps])
    _write_atomic(out_dir / f"{name}.hyp", "".join(t + "\n" for t in text))
    if n_best > 1:
        _write_atomic(
            out_dir / f"{name}.nbest.tsv",
            "".join(
                f"{i}\t{h.score:.4f}\t{tok.decode_tgt([h.tokens])[0]}\n"
                for i, nbest in enumerate(hyps)
                for h in nbest
            ),
        )
    return text


def score_split(cfg: EvaluateApp, loaded: Loaded, data: DataConfig, split: str,
                out_dir: Path) -> dict:
    """Translate one split, write its hypotheses, print and return its scores."""
    tok = loaded.tokenizer
    src, refs = read_split_text(data, split)
    start = time.perf_counter()
    hyps = loaded.search(tok.encode_src(src), cfg.decode, progress=cfg.progress)
    seconds = time.perf_counter() - start
    name = Path(split).name
    text = _write_hypotheses(out_dir, name, tok, hyps, cfg.decode.n_best)
    n_tokens = sum(len(h[0].tokens) + 1 for h in hyps)
    scores = all_scores(text, refs)
    print(
        f"{name}: {len(src)} sentences in {seconds:.1f} s ({len(src) / seconds:.1f} "
        f"sentences/s, {n_tokens / seconds:,.0f} tokens/s), {cfg.decode.strategy}"
        + (f" {cfg.decode.beam_size}" if cfg.decode.strategy == "beam" else "")
    )
    for score in scores:
        print(f"  {score.text}")
    return {
        "sentences": len(src),
        "seconds": seconds,
        "sentences_per_s": len(src) / seconds,
        "hypotheses": str(out_dir / f"{name}.hyp"),
        "scores": {s.name: {"score": s.score, "signature": s.signature} for s in scores},
    }


def evaluate(cfg: EvaluateApp, overrides: list[str]) -> dict:
    """Translate and score each split; print the scores; return what results.json holds (with
    the splits scored there before from the same checkpoint and decoding)."""
    loaded = open_configured(cfg, overrides)
    data = run_data_config(loaded.config, cfg, overrides)
    splits = cfg.splits if cfg.splits is not None else [data.valid, *data.test]
    out_dir = _output_dir(cfg, loaded)
    made = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # deepest first
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out_dir, exc) from exc
    results = _header(cfg, loaded, data)
    results["splits"] = _earlier_splits(out_dir / "results.json", results)
    try:
        for split in splits:
            results["splits"][Path(split).name] = score_split(cfg, loaded, data, split, out_dir)
    except BaseException:  # stopped (Ctrl-C) or failed: no folder left that it made and left empty
        _remove_empty(made)
        raise
    _write_atomic(out_dir / "results.json", json.dumps(results, indent=2) + "\n")
    print(f"hypotheses and results.json in {out_dir}")
    return results
