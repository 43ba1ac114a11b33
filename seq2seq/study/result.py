"""result.json: what one training job of a study gives, in its run (job) directory.

Written by `seq2seq-train train.evaluate_after=true` and by every job of `seq2seq-train -m`;
read by `seq2seq-report`. A job is "done" (trained and scored), "failed" (with a one-line
reason: a refused config, a diverged or crashed run) or "stopped" (interrupted by a signal;
started again it resumes from its last checkpoint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seq2seq.files import write_text_atomic

RESULT_NAME = "result.json"
DONE, FAILED, STOPPED = "done", "failed", "stopped"


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted key: leaf value} of a nested dict (lists kept as leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flat(value, f"{prefix}{key}."))
    return {k.rstrip("."): v for k, v in out.items()}


def job_config(cfg: DictConfig) -> dict[str, Any]:
    """The job's composed config without Hydra's node, flattened (unresolvable values as
    written)."""
    tree = OmegaConf.to_container(cfg, resolve=False)
    tree.pop("hydra", None)
    return flat(tree)


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """{key or group: value as typed} of this job's key=value overrides."""
    pairs = (o.split("=", 1) for o in overrides if "=" in o)
    return {k.lstrip("+~"): v for k, v in pairs}


def write(job_dir: Path, result: dict) -> Path:
    """job_dir/result.json holds result (written whole or not at all)."""
    path = Path(job_dir) / RESULT_NAME
    write_text_atomic(path, json.dumps(result, indent=2, default=str) + "\n")
    return path


def read(job_dir: Path) -> dict | None:
    """job_dir's result.json, or None if it has none (or one that does not parse)."""
    try:
        result = json.loads((Path(job_dir) / RESULT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def failed(reason: str, overrides: list[str], config: dict[str, Any],
           status: str = FAILED) -> dict:
    """The result of a job that did not finish: its reason in one line."""
    return {"status": status, "reason": " ".join(str(reason).split()),
            "overrides": parse_overrides(overrides), "config": config}
