"""Training and decoding speed on real Multi30k batches, printed as a Markdown table.

    python scripts/benchmark.py [overrides] [--sections gemm,train,decode] [--run RUN_DIR]
                                [--windows 5] [--steps 4] [--rounds 1] [--device cpu]
                                [--sentences N] [--json FILE]
                                [--curve 4096,16384,65536 [--curve-precision fp32]]

Overrides are those of seq2seq-train (e.g. experiment=joeynmt_reference, model=bahdanau,
train.max_tokens=2048), checked as seq2seq-train checks them. Every row runs in a fresh
process, so its peak resident memory is its own. Training rows time the training loop's own
update (Trainer.update: loss, label smoothing, precision, clipping, optimiser, schedule) over
the batches the loop takes, after a warm-up, and report the median of --windows windows of
--steps updates each; a row is the config plus its own overrides (train.precision,
train.fast_path=false for the decoder's step loop, train.loss_chunk=0 for whole logits).
Decoding rows translate Multi30k test_2016_flickr, or its first --sentences for a quick look,
and report the translation's minor page faults beside its speed (page_faults, on stderr and
in --json).
On a GPU (--device cuda) there are more rows: fp16 training and decoding, fp32 without TF32,
and decoding batches sized for a GPU; --curve adds a training row at each token budget. FLOP/s
come from torch's FLOP counter and are compared with the GEMM peak torch reaches here at the
same dtype, measured in the same run.

--rounds N measures every row N times, all rows one after another in each round (in reverse
every other round), and reports the medians; a ratio between two rows is then the median of the
N ratios of the same round, so that a machine whose speed drifts between minutes (shared hosts:
20% and more) weighs on both rows of a ratio alike.

With --run, the run's saved config is the starting point and the overrides change it (a change
to the weights' shapes or the tokenizer is refused with one line); training rows resume the
run's last.pt and decoding rows decode with its best.pt and report BLEU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from benchmark_report import median_of_rounds, report
from benchmark_rows import config, gemm_peak, measure_decode, measure_train

ROWS_TRAIN = [  # (name, the row's own overrides)
    ("train fp32 fast path", ["train.precision=fp32"]),
    ("train fp32 step loop", ["train.precision=fp32", "train.fast_path=false"]),
    ("train fp32 fast path, whole logits", ["train.precision=fp32", "train.loss_chunk=0"]),
    ("train bf16 fast path", ["train.precision=bf16"]),
    ("train bf16 step loop", ["train.precision=bf16", "train.fast_path=false"]),
    ("train bf16 fast path, whole logits", ["train.precision=bf16", "train.loss_chunk=0"]),
    ("train auto fast path", ["train.precision=auto"]),
    ("train auto step loop", ["train.precision=auto", "train.fast_path=false"]),
]
ROWS_TRAIN_GPU = [
    ("train fp16 fast path", ["train.precision=fp16"]),
    ("train fp32 fast path, no TF32", ["train.precision=fp32", "train.tf32=false"]),
]
ROWS_DECODE = [  # (name, strategy, beam, precision, batch size, sentences)
    ("greedy fp32", "greedy", 1, "fp32", 64, None),
    ("beam 5 fp32", "beam", 5, "fp32", 64, None),
    ("greedy bf16", "greedy", 1, "bf16", 64, None),
    ("beam 5 bf16", "beam", 5, "bf16", 64, None),
    ("beam 5 auto", "beam", 5, "auto", 64, None),
    ("greedy int8", "greedy", 1, "int8", 64, None),
    ("beam 5 int8", "beam", 5, "int8", 64, None),
    # the batch seq2seq-evaluate takes (configs/decode/greedy.yaml and beam.yaml)
    ("greedy fp32 256-sentence batches", "greedy", 1, "fp32", 256, None),
    ("greedy bf16 256-sentence batches", "greedy", 1, "bf16", 256, None),
    ("greedy int8 256-sentence batches", "greedy", 1, "int8", 256, None),
    ("beam 5 fp32 128-sentence batches", "beam", 5, "fp32", 128, None),
    ("beam 5 bf16 128-sentence batches", "beam", 5, "bf16", 128, None),
    ("beam 5 int8 128-sentence batches", "beam", 5, "int8", 128, None),
    ("beam 5 fp32, one sentence at a time", "beam", 5, "fp32", 1, 200),
]
ROWS_DECODE_GPU = [
    ("greedy fp16", "greedy", 1, "fp16", 64, None),
    ("beam 5 fp16", "beam", 5, "fp16", 64, None),
    ("greedy fp32, batches of 1000", "greedy", 1, "fp32", 1000, None),
    ("beam 5 fp32, batches of 500", "beam", 5, "fp32", 500, None),
    ("beam 5 bf16, batches of 500", "beam", 5, "bf16", 500, None),
]


def _with_rss(func, args) -> dict | float:
    result = func(*args)
    if isinstance(result, dict):
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def isolated(func, *args):
    """func(*args) in a fresh process (its errors raised here), with its peak resident memory."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_with_rss, func, args).result()


def row(name: str, func, *args) -> dict:
    """A table row measured by func in a fresh process; a failure becomes the row's note, so that
    one broken variant does not cost the others. Each row is announced on stderr as it ends, so
    that a run cut short still shows what it measured."""
    start = time.perf_counter()
    try:
        result = isolated(func, *args)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        message = str(exc).strip().splitlines()
        result = {"skipped": f"failed: {type(exc).__name__}: {message[-1] if message else ''}"}
    figures = ", ".join(f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in result.items())
    print(f"{name} ({time.perf_counter() - start:.0f} s): {figures}", file=sys.stderr, flush=True)
    return result


def in_rounds(jobs: list[tuple], rounds: int) -> dict:
    """jobs [(name, func, *args)], each measured by row(), `rounds` times over, all jobs one
    after another in each round, in reverse order every other round -> name ->
    median_of_rounds of its results. (A 2-core VM slowed by 10-20% within a round of 14 decoding
    rows, so a fixed order read its last rows low; reversed, a drift that steady evens out
    between rounds.)"""
    measured: dict[str, list[dict]] = {job[0]: [] for job in jobs}
    for r in range(rounds):
        for name, func, *args in jobs if r % 2 == 0 else jobs[::-1]:
            measured[name].append(row(name, func, *args))
    return {name: median_of_rounds(results) for name, results in measured.items()}


def _bf16_unsupported(gemm: dict) -> str | None:
    """A note when bf16 matrix products run far slower than fp32 here (no bf16 hardware)."""
    if "bf16" in gemm and gemm["bf16"] < gemm["fp32"] / 4:
        return (f"bf16 rows skipped: bf16 GEMM runs at {gemm['bf16']:.1f} GFLOP/s against "
                f"{gemm['fp32']:.1f} in fp32 on this CPU (no bf16 matrix hardware)")
    return None


def _curve(budgets: str, precision: str) -> list[tuple[str, list[str]]]:
    """Training rows at each token budget of --curve (tokens/s against batch size)."""
    return [(f"train curve {precision}, {int(n):,}-token batches",
             [f"train.precision={precision}", f"train.max_tokens={int(n)}"])
            for n in budgets.split(",") if n]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--sections", default="gemm,train,decode")
    parser.add_argument("--run", default=None)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", default="", help="only rows whose name contains one of these "
                        "comma-separated words")
    parser.add_argument("--curve", default="", help="comma-separated token budgets: a training "
                        "row (fast path, --curve-precision) at each train.max_tokens")
    parser.add_argument("--curve-precision", default="fp32")
    parser.add_argument("--sentences", type=int, default=0, help="decoding rows translate only "
                        "the first N sentences of test_2016_flickr (0: all 1,000)")
    parser.add_argument("--json", default=None)
    return parser.parse_args()


def _check(overrides: list[str], run: str | None) -> None:
    """The overrides apply (to the run's config, with --run), or the script ends with one line."""
    from seq2seq.errors import UserError

    try:
        config(overrides, run)
    except UserError as exc:
        sys.exit(f"error: {exc}")


def main() -> None:
    args = _arguments()
    if args.rounds < 1:
        sys.exit(f"error: --rounds {args.rounds}: a whole number of at least 1")
    if args.sentences < 0:
        sys.exit(f"error: --sentences {args.sentences}: 0 (all) or a positive number")
    _check(args.overrides, args.run)
    sections = set(args.sections.split(","))
    wanted = [w for w in args.rows.split(",") if w]
    keep = lambda name: not wanted or any(w in name for w in wanted)  # noqa: E731
    import torch

    from seq2seq.precision import machine

    results: dict = {"machine": machine(torch.device(args.device), args.threads), "run": args.run,
                     "overrides": args.overrides, "rounds": args.rounds, "gemm": {}, "train": {},
                     "decode": {}}
    if "gemm" in sections:
        for dtype in ("fp32", "bf16"):
            results["gemm"][dtype] = isolated(gemm_peak, dtype, args.threads, args.device)
    slow_bf16 = _bf16_unsupported(results["gemm"])
    if slow_bf16:
        print(slow_bf16, flush=True)
    gpu = args.device.startswith("cuda")
    if "train" in sections:
        gpu_rows = ROWS_TRAIN_GPU if gpu else []
        results["train"] = in_rounds([
            (name, measure_train, [*args.overrides, *own], args.run, args.windows, args.steps,
             args.threads, args.device)
            for name, own in [*ROWS_TRAIN, *gpu_rows, *_curve(args.curve, args.curve_precision)]
            if (keep(name) or name.startswith("train curve")) and not ("bf16" in name and slow_bf16)
        ], args.rounds)
    if "decode" in sections:
        results["decode"] = in_rounds([
            (name, measure_decode, args.overrides, args.run, strategy, beam, precision, batch,
             min(filter(None, (limit, args.sentences)), default=None),
             args.threads, args.device)
            for name, strategy, beam, precision, batch, limit in [
                *ROWS_DECODE, *(ROWS_DECODE_GPU if gpu else [])]
            if keep(name) and not ((precision == "int8" and gpu)
                                   or (precision == "bf16" and slow_bf16))
        ], args.rounds)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
