"""A study's table: one row per job of a sweep directory, the swept keys as columns.

A job is a folder under the sweep directory holding Hydra's `.hydra/overrides.yaml`; its
result.json (seq2seq.study.result) gives the figures. A job without one (still running, or the
sweep was stopped before it) is a row with status "not run". The swept keys are the overrides
whose values differ between jobs.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from seq2seq.errors import UserError
from seq2seq.study import result as results

NOT_RUN = "not run"
# (column, heading, format) of the figures after the swept keys
FIGURES = (
    ("status", "status", "{}"),
    ("valid_bleu", "val BLEU", "{:.2f}"),
    ("test_bleu", "test BLEU", "{:.2f}"),
    ("test_chrf", "test chrF", "{:.2f}"),
    ("parameters_m", "params (M)", "{:.2f}"),
    ("train_minutes", "train min", "{:.1f}"),
    ("steps", "steps", "{:,}"),
    ("train_tokens_per_s", "train tok/s", "{:,.0f}"),
    ("decode_sentences_per_s", "decode sent/s", "{:,.0f}"),
    ("reason", "reason", "{}"),
)


def _overrides(job: Path) -> dict[str, str]:
    from omegaconf import OmegaConf

    listed = OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "overrides.yaml"))
    return results.parse_overrides([str(o) for o in listed or []])


def _row(sweep: Path, job: Path) -> dict[str, Any]:
    """The figures of one job, flat."""
    found = results.read(job)
    row: dict[str, Any] = {"job": str(job.relative_to(sweep)), "overrides": _overrides(job)}
    if found is None:
        return {**row, "status": NOT_RUN}
    test = next(iter((found.get("test") or {}).values()), {})
    params = found.get("parameters")
    row.update({
        "status": found.get("status"),
        "valid_bleu": (found.get("valid") or {}).get("bleu"),
        "test_bleu": test.get("bleu"), "test_chrf": test.get("chrf"),
        "parameters_m": params / 1e6 if params else None,
        **{k: found.get(k) for k in ("train_minutes", "steps", "train_tokens_per_s",
                                    "decode_sentences_per_s")},
        "reason": found.get("reason") if found.get("status") != results.DONE else None,
    })
    return row


def collect(sweep: Path) -> list[dict[str, Any]]:
    """Every job under sweep, ordered by folder name (numbers numerically)."""
    sweep = Path(sweep)
    if not sweep.is_dir():
        raise UserError(f"{sweep}: not a folder; give the sweep directory (hydra.sweep.dir)")
    if (sweep / ".hydra" / "overrides.yaml").is_file():  # a sweep's jobs are its subfolders
        raise UserError(f"{sweep}: a single run, not a sweep; give the sweep directory of a "
                        "seq2seq-train -m run (one run's scores: seq2seq-evaluate "
                        f"run_dir={sweep})")
    jobs = sorted({p.parent.parent for p in sweep.glob("**/.hydra/overrides.yaml")},
                  key=lambda p: [int(s) if s.isdigit() else s for s in p.relative_to(sweep).parts])
    if not jobs:
        raise UserError(f"{sweep}: no jobs found (folders with .hydra/overrides.yaml); give the "
                        "sweep directory of a seq2seq-train -m run")
    rows = [_row(sweep, job) for job in jobs]
    keys = swept_keys(rows)
    for row in rows:
        row.update({k: row["overrides"].get(k) for k in keys})
    return rows


def swept_keys(rows: list[dict[str, Any]]) -> list[str]:
    """The override keys whose values are not the same in every job, in command-line order."""
    keys = list(dict.fromkeys(k for row in rows for k in row["overrides"]))
    return [k for k in keys if len({row["overrides"].get(k) for row in rows}) > 1]


def _cell(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spec.format(value) if not isinstance(value, str) else value.replace("|", "\\|")


def columns(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(column, heading, format) of the table: job, the swept keys (but one whose value names
    every job's folder: the job column says it), the figures."""
    keys = [(k, k, "{}") for k in swept_keys(rows) if any(r.get(k) != r["job"] for r in rows)]
    return [("job", "job", "{}"), *keys, *FIGURES]


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = columns(rows)
    lines = ["| " + " | ".join(h for _, h, _ in cols) + " |",
             "| " + " | ".join("---:" if f != "{}" else "---" for _, _, f in cols) + " |"]
    lines += ["| " + " | ".join(_cell(r.get(c), f) for c, _, f in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cols = columns(rows)
    writer.writerow([c for c, _, _ in cols])
    writer.writerows([["" if r.get(c) is None else r.get(c) for c, _, _ in cols] for r in rows])
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    keys = swept_keys(rows)
    return json.dumps({"swept": keys, "jobs": rows}, indent=2, default=str) + "\n"
