"""Where one training update spends its time: torch's profiler over the training loop's own
update (Trainer.update, as scripts/benchmark.py times it), operators sorted by their own time.

    python scripts/profile_step.py [overrides] [--device cpu|cuda] [--threads 2] [--steps 3]
                                   [--rows 25] [--shapes]

Overrides are those of seq2seq-train (e.g. experiment=joeynmt_reference train.precision=bf16).
Prints the target tokens/s of the profiled updates (slower than unprofiled ones) and the table;
on a GPU the table is sorted by CUDA time and shows both.
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
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--shapes", action="store_true", help="one line per operator and input "
                        "shapes")
    args = parser.parse_args()
    from torch.profiler import ProfilerActivity, profile

    from seq2seq.errors import UserError

    cuda = args.device.startswith("cuda")
    with tempfile.TemporaryDirectory() as folder:
        try:
            trainer = make_trainer(args.overrides, None, args.threads, args.device, Path(folder))
        except UserError as exc:
            sys.exit(f"error: {exc}")
        trainer.state.model.train()
        groups = loop_groups(trainer, 2 + args.steps)
        timed_updates(trainer, groups[:2])  # warm-up
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities, record_shapes=args.shapes) as prof:
            seconds = timed_updates(trainer, groups[2:])
    tokens = target_tokens(trainer, groups[2:])
    print(f"{trainer.precision}, {args.steps} updates, {tokens / seconds:,.0f} target tok/s "
          f"under the profiler; overrides: {' '.join(args.overrides) or 'none'}")
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    table = prof.key_averages(group_by_input_shape=args.shapes)
    print(table.table(sort_by=sort, row_limit=args.rows, max_name_column_width=30,
                      max_shapes_column_width=70))


if __name__ == "__main__":
    main()
