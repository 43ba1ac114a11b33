"""Whether new batch shapes cost an update more than shapes seen before, per precision: the
training loop's own update (Trainer.update, as scripts/benchmark.py times it) over the same
batches several passes in a row, and the target tokens/s of each pass.

    python scripts/shape_passes.py [overrides] [--precisions fp32,bf16] [--batches 30]
                                   [--passes 4] [--device cpu|cuda] [--threads 2]

The benchmark's windows meet every shape once, the probe of `train.precision=auto` a few, and a
run each shape of its epoch again every epoch. On an H200, bf16 and fp16 autocast trained at a
third of fp32's rate in the benchmark while the GPU time of their updates was lower (README,
"One NVIDIA H200"): if the first pass is the slow one, the plans made for each new shape (cuDNN,
cuBLAS) are what costs, and a run's later epochs pay less of it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmark_rows import loop_groups, make_trainer, target_tokens, timed_updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from seq2seq.errors import UserError

    for name, value in (("--batches", args.batches), ("--passes", args.passes)):
        if value < 1:
            sys.exit(f"error: {name} {value}: a whole number of at least 1")
    for precision in args.precisions.split(","):
        with tempfile.TemporaryDirectory() as folder:
            try:
                trainer = make_trainer([*args.overrides, f"train.precision={precision}"], None,
                                       args.threads, args.device, Path(folder))
            except UserError as exc:
                sys.exit(f"error: {exc}")
            trainer.state.model.train()
            groups = loop_groups(trainer, args.batches)
            tokens = target_tokens(trainer, groups)
            rates = [tokens / timed_updates(trainer, groups) for _ in range(args.passes)]
        print(f"{precision}: target tok/s by pass over the same {len(groups)} batches: "
              + ", ".join(f"{r:,.0f}" for r in rates)
              + f" (last / first {rates[-1] / rates[0]:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
