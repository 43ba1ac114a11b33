"""Where decoding spends its time: torch's profiler over one translation of test_2016_flickr
with a trained run's best.pt, operators sorted by their own time (the decoding counterpart of
scripts/profile_step.py).

    python scripts/profile_decode.py RUN_DIR [--strategy beam|greedy] [--beam 5]
                                     [--quantize none|int8 | --precision fp32|bf16|fp16]
                                     [--batch N] [--threads 2]
                                     [--sentences N] [--rows 25]

Prints the sentences/s of the profiled translation (slower than an unprofiled one) and the table.
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--strategy", choices=("beam", "greedy"), default="beam")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--quantize", choices=("none", "int8"), default="none")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                        help="decode.precision (an int8 model decodes in fp32)")
    parser.add_argument("--batch", type=int, default=None,
                        help="sentences a batch (default: as seq2seq-evaluate takes them, "
                        "configs/decode/STRATEGY.yaml)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=None,
                        help="profile only the first N sentences of test_2016_flickr")
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    from benchmark_rows import decoding_job
    from torch.profiler import profile

    from seq2seq.decoding.translator import commands_batch_size
    from seq2seq.errors import UserError

    beam = args.beam if args.strategy == "beam" else 1
    if args.quantize == "int8" and args.precision != "fp32":
        sys.exit(f"error: --precision {args.precision}: an int8 model decodes in fp32")
    if args.batch is None:
        args.batch = commands_batch_size(args.strategy)
    precision = "int8" if args.quantize == "int8" else args.precision
    try:
        loaded, decode, ids, _ = decoding_job([], args.run, args.strategy, beam, precision,
                                              args.batch, args.sentences, args.threads, "cpu")
    except UserError as exc:
        sys.exit(f"error: {exc}")
    with profile() as prof:
        start = time.perf_counter()
        loaded.search(ids, decode)
        seconds = time.perf_counter() - start
    print(f"{args.strategy} {beam}, {precision}, batches of {args.batch}: "
          f"{len(ids) / seconds:,.1f} sentences/s under the profiler; run: {args.run}")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows,
                                    max_name_column_width=30))


if __name__ == "__main__":
    main()
