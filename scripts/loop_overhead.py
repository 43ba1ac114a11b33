"""What the training loop costs beyond its update: the same updates timed as scripts/benchmark.py
times them (Trainer.update over batches collated beforehand and already on the device) and as
the loop makes them (Trainer.run_epoch: collation, transfer, the update, logging, stop checks),
collating each update's batches in turn or one update ahead in a worker thread (as it does on a
GPU; seq2seq/training/feed.py), side by side in rounds, with the loop's wall time split by part.
Validation and checkpoint writes are left out of all.

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
KINDS = ("update", "in turn", "ahead")  # the update alone; the loop collating in turn, ahead


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


def measure_rounds(trainer, parts: dict, updates: int, rounds: int
                   ) -> tuple[dict[str, list[float]], dict[str, tuple[float, dict]]]:
    """Each kind's target tok/s in each round (over the same batches, the kinds' order turned
    every other round), and each loop kind's seconds and time by part in its last round."""
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    split: dict[str, tuple[float, dict]] = {}
    for r in range(rounds):
        at = dataclasses.replace(trainer.progress)  # all take the same batches
        for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
            for field in dataclasses.fields(at):
                setattr(trainer.progress, field.name, getattr(at, field.name))
            parts.clear()
            if kind == "update":
                groups = loop_groups(trainer, updates)
                parts.clear()
                rates[kind].append(target_tokens(trainer, groups)
                                   / timed_updates(trainer, groups))
                continue
            trainer.ahead = kind == "ahead"
            seconds, tokens = loop_seconds(trainer, updates)
            rates[kind].append(tokens / seconds)
            split[kind] = seconds, dict(parts)
        print(f"round {r + 1}: " + ", ".join(f"{kind} {rates[kind][-1]:,.0f}"
                                             for kind in KINDS) + " target tok/s", flush=True)
    return rates, split


def report(precision: str, args, rates: dict[str, list[float]],
           split: dict[str, tuple[float, dict]], epoch_length: int) -> None:
    """The medians, the loops' ratios to the update alone and their time by part."""
    median = {kind: statistics.median(rates[kind]) for kind in KINDS}
    print(f"{precision}, {args.updates} updates a round, medians of {args.rounds} rounds; "
          f"overrides: {' '.join(args.overrides) or '(none)'}")
    print(f"update alone (batches collated beforehand, on the device): {median['update']:,.0f} "
          "target tok/s")
    per = 1000 / args.updates
    for kind, what in (("in turn", "collated in turn"), ("ahead", "collated ahead in a thread")):
        ratio = statistics.median(a / b for a, b in zip(rates[kind], rates["update"],
                                                         strict=True))
        print(f"the loop, {what}: {median[kind]:,.0f} target tok/s, {ratio:.2f}x the update "
              "alone (the median of the rounds' ratios)")
        total, loop_parts = split[kind]
        shares = [f"{name} {per * loop_parts.get(name, 0.0):.2f}" for name in PARTS]
        rest = total - sum(loop_parts.get(name, 0.0) for name in PARTS if name != "collate"
                           or kind == "in turn")
        print(f"  its last round's ms per update: {', '.join(shares)}, rest {per * rest:.2f}; "
              f"total {per * total:.2f}")
    print(f"(epoch_batches runs once an epoch, here once a round; an epoch is {epoch_length} "
          "updates. Collated ahead, collate runs in the worker thread, beside the rest)")


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
        rates, split = measure_rounds(trainer, parts, args.updates, args.rounds)
    report(trainer.precision, args, rates, split, epoch_length)


if __name__ == "__main__":
    main()
