"""A results table from what runs leave behind: metrics.jsonl, train.log and the
eval/*/results.json files that seq2seq-evaluate writes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from seq2seq.checkpoint import run_of
from seq2seq.training.metrics import read

_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+\]")


@dataclass
class Row:
    run: str
    pair: str
    checkpoint: str  # best, last, averaged, step_N, ensembleN.<hash>
    decoding: str
    split: str
    scores: dict[str, float]  # BLEU, BLEU_lowercased, chrF2, TER
    parameters: int | None
    # an ensemble's: all its models' runs, each once; a distilled student's: its teachers' and
    # the translation's too
    train_minutes: float | None
    steps: int | None
    sentences_per_s: float | None = None  # decoding speed of that evaluation


def _log_minutes(train_log: Path) -> float | None:
    """Training time from train.log, for runs that predate elapsed_s: each session counts from
    its "model: ..." line to its last validation or stop line."""
    if not train_log.is_file():
        return None
    sessions: list[list[datetime]] = []
    for line in train_log.read_text().splitlines():
        match = _STAMP.match(line)
        if not match:
            continue
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
        if "] model: " in line:
            sessions.append([stamp, stamp])
        elif sessions and any(m in line for m in ("] validation at step", "] finished at step",
                                                  "] stopped by")):
            sessions[-1][1] = stamp
    if not sessions:
        return None
    return sum((end - start).total_seconds() for start, end in sessions) / 60


def _records(run: Path) -> list[dict]:
    metrics = run / "metrics.jsonl"
    return read(metrics) if metrics.is_file() else []


def train_minutes(run: Path, records: list[dict] | None = None) -> float | None:
    """Minutes the run trained, over all its sessions (records: its metrics.jsonl, if read)."""
    records = _records(run) if records is None else records
    elapsed = [r["elapsed_s"] for r in records if "elapsed_s" in r]
    if elapsed:
        return max(elapsed) / 60
    return _log_minutes(run / "train.log")


def _own_training(run: Path) -> tuple[float | None, int | None]:
    """A run's own training minutes and steps."""
    records = _records(run)
    return train_minutes(run, records), max((r["step"] for r in records), default=None)


def _distilled_from(run: Path) -> tuple[Path, dict] | None:
    """(PREFIX.json, its contents) when the run trained on seq2seq-distill's output PREFIX
    (its config's data.train), else None."""
    try:
        train = OmegaConf.load(run / "config.yaml").data.train
        meta = Path(f"{train}.json")
        info = json.loads(meta.read_text())
    except Exception:  # no config, no such key or file, or not JSON: not a distilled run
        return None
    return (meta.resolve(), info) if isinstance(info, dict) and "teachers" in info else None


def _lineage(runs: list[Path]) -> tuple[list[Path], dict[Path, float | None]]:
    """The runs behind these runs, each once: themselves and, for a student of seq2seq-distill,
    its teachers' runs (recursively); with the translation minutes of each distilled corpus."""
    seen: list[Path] = []
    corpora: dict[Path, float | None] = {}
    pending = [r.resolve() for r in runs]
    while pending:
        run = pending.pop(0)
        if run in seen:
            continue
        seen.append(run)
        distilled = _distilled_from(run)
        if distilled:
            meta, info = distilled
            corpora[meta] = info.get("minutes")
            pending += [run_of(Path(t["checkpoint"])).resolve() for t in info["teachers"]]
    return seen, corpora


def _training(runs: list[Path]) -> tuple[float | None, int | None]:
    """What it took to train these models (an ensemble's, or one run's): the minutes and steps
    of every run behind them added up (trained one after the other), each run once however many
    of its checkpoints take part, plus the minutes of translating any distilled corpus; None
    where a run does not say."""
    lineage, corpora = _lineage(runs)
    trained = [_own_training(run) for run in lineage]
    minutes = [m for m, _ in trained] + list(corpora.values())
    steps = [s for _, s in trained]
    return (None if None in minutes else sum(minutes)), (None if None in steps else sum(steps))


def rows(run: Path, split: str) -> list[Row]:
    """One row per evaluation of the run (eval/<checkpoint>-<decoding>/results.json) on split;
    an ensemble's row (checkpoint ensembleN.<hash>) counts the training of all its models."""
    found = []
    alone = _training([run])
    for path in sorted((run / "eval").glob("*/results.json")):
        results = json.loads(path.read_text())
        if split not in results["splits"]:
            continue
        checkpoint, _, decoding = path.parent.name.partition("-")
        scores = {k: v["score"] for k, v in results["splits"][split]["scores"].items()}
        members = results.get("ensemble")
        trained = _training([run_of(Path(m["checkpoint"])) for m in members]) if members \
            else alone
        found.append(Row(run.name, results["pair"], checkpoint, decoding, split, scores,
                         results.get("parameters"), *trained,
                         results["splits"][split].get("sentences_per_s")))
    return found


def _num(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def markdown(table: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| pair | run | checkpoint | decoding | BLEU | BLEU (lowercased) | chrF2 | TER "
        "| training minutes | steps | parameters | sentences/s |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table:
        s = r.scores
        lines.append(
            f"| {r.pair} | {r.run} | {r.checkpoint} | {r.decoding} | {_num(s.get('BLEU'), '.2f')} "
            f"| {_num(s.get('BLEU_lowercased'), '.2f')} | {_num(s.get('chrF2'), '.2f')} "
            f"| {_num(s.get('TER'), '.2f')} | {_num(r.train_minutes, '.1f')} "
            f"| {_num(r.steps, ',d')} | {_num(r.parameters, ',d')} "
            f"| {_num(r.sentences_per_s, ',.0f')} |"
        )
    return "\n".join(lines)
