"""The run's metrics log: JSON lines in the run directory, TensorBoard when asked for."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


class MetricsLog:
    """Appends {"kind": ..., "step": ..., ...} records to metrics.jsonl."""

    def __init__(self, path: Path, tensorboard: bool = False) -> None:
        self.path = path
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(path.parent / "tensorboard"))
            except ImportError:
                log.warning(
                    "train.tensorboard=true but tensorboard is not installed; "
                    "pip install tensorboard (metrics.jsonl is written either way)"
                )

    def truncate_after(self, step: int) -> None:
        """Drop records past step: a resumed run redoes those steps and logs them again."""
        if not self.path.is_file():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, kind: str, step: int, **values: float | int | str | bool) -> None:
        record = {"kind": kind, "step": step, **values}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self.writer.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Throughput:
    """Target tokens trained since a moment, for the tokens/s shown and logged."""

    tokens: int = 0
    since: float = field(default_factory=time.perf_counter)

    def rate(self) -> float:
        return self.tokens / max(time.perf_counter() - self.since, 1e-9)

    def restart(self) -> None:
        self.tokens, self.since = 0, time.perf_counter()


def read(path: Path) -> list[dict]:
    """All records of a metrics.jsonl file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
