"""What the training loop costs beyond its update: the same updates timed as scripts/benchmark.py
times them (Trainer.update over batches collated beforehand and already on the device) and as
the loop makes them (Trainer.run_epoch: collation, transfer, the update, logging, stop checks),
side by side in rounds, with the loop's wall time split by part. Validation and checkpoint
writes are left out of both.

    python scripts/loop_overhead.py [overrides] [--updates 30] [--rounds 3]
                                    [--device cpu|cuda] [--threads 2]

On the H200 the de-en recipe's loop trained at 194k target tok/s where the benchmark's update of
the same config ran at 415-492k (README, "One NVIDIA H200"); this tells where the rest goes. The
parts are host wall time: `update` includes the waits for the GPU that its host reads make.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmark_rows import loop_groups, make_trainer, target_tokens, timed_updates

PARTS = ("collate", "update", "after_step", "stop_reason", "epoch_batches")


class After:
    """A stop request that the loop sees once it has made count more updates."""

    def __init__(self, trainer, count: int) -> None:
        self.trainer, self.until = trainer, trainer.progress.step + count
        self.signal_name = None

    def __bool__(self) -> bool:
        return self.trainer.progress.step >= self.until


def time_parts(trainer) -> dict[str, float]:
    """Wraps the loop's parts (Trainer methods the loop calls) to add their wall seconds to the
    returned dict."""
    seconds: dict[str, float] = defaultdict(float)

    def timed(name, method):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - start
        return call

    for name in PARTS:
        setattr(trainer, name, timed(name, getattr(trainer, name)))
    return seconds


def loop_seconds(trainer, count: int) -> tuple[float, int]:
    """Wall seconds for the loop's next count updates from where training stands, and the
    target tokens they trained."""
    import torch

    cuda = trainer.device.type == "cuda"
    stop, tokens = After(trainer, count), trainer.progress.tokens
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    reason = None
    while reason is None:
        reason = trainer.run_epoch(stop)
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, trainer.progress.tokens - tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from seq2seq.errors import UserError

    for name, value in (("--updates", args.updates), ("--rounds", args.rounds)):
        if value < 1:
            sys.exit(f"error: {name} {value}: a whole number of at least 1")
    overrides = [*args.overrides, "train.max_steps=0", "train.max_epochs=0",
                 "train.max_minutes=0", "train.patience=0"]
    with tempfile.TemporaryDirectory() as folder:
        try:
            trainer = make_trainer(overrides, None, args.threads, args.device, Path(folder))
        except UserError as exc:
            sys.exit(f"error: {exc}")
        trainer.validate_and_save = lambda scheduled=True: None
        trainer.checkpoints.save = lambda *a, **k: None
        trainer.state.model.train()
        timed_updates(trainer, loop_groups(trainer, 3))  # warm-up
        epoch_length = -(-len(trainer.epoch_batches()) // trainer.tc.accumulate)
        parts = time_parts(trainer)
        rates: dict[str, list[float]] = {"update": [], "loop": []}
        loop_total = 0.0
        for r in range(args.rounds):
            at = dataclasses.replace(trainer.progress)  # both take the same batches
            for kind in ("update", "loop") if r % 2 == 0 else ("loop", "update"):
                for field in dataclasses.fields(at):
                    setattr(trainer.progress, field.name, getattr(at, field.name))
                if kind == "update":
                    groups = loop_groups(trainer, args.updates)
                    parts.clear()
                    rates[kind].append(target_tokens(trainer, groups)
                                       / timed_updates(trainer, groups))
                else:
                    parts.clear()
                    seconds, tokens = loop_seconds(trainer, args.updates)
                    rates[kind].append(tokens / seconds)
                    loop_total, loop_parts = seconds, dict(parts)
            print(f"round {r + 1}: update {rates['update'][-1]:,.0f}, loop "
                  f"{rates['loop'][-1]:,.0f} target tok/s", flush=True)
    update, loop = (statistics.median(rates[k]) for k in ("update", "loop"))
    print(f"{trainer.precision}, {args.updates} updates a round, medians of {args.rounds} rounds; "
          f"overrides: {' '.join(args.overrides) or '(none)'}")
    print(f"update alone (batches collated beforehand, on the device): {update:,.0f} target tok/s")
    print(f"the loop (collation, transfer, update, logging, stop checks): {loop:,.0f} target "
          f"tok/s, {loop / update:.2f}x the update alone")
    per = 1000 / args.updates
    split = [f"{name} {per * loop_parts.get(name, 0.0):.2f}" for name in PARTS]
    rest = loop_total - sum(loop_parts.values())
    print(f"the last loop's ms per update: {', '.join(split)}, rest {per * rest:.2f}; "
          f"total {per * loop_total:.2f} (epoch_batches runs once an epoch, here once a round; "
          f"an epoch is {epoch_length} updates)")


if __name__ == "__main__":
    main()
