"""Printing scripts/benchmark.py's results: Markdown tables and speed ratios."""

from __future__ import annotations

import statistics


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def median_of_rounds(rounds: list[dict]) -> dict:
    """One row's results from several rounds -> the median of each figure over the rounds that
    did not fail (all failed: the first's note; a figure every round agrees on, such as the
    sentences translated, as it is), every round's results kept under "rounds"."""
    ok = [r for r in rounds if "skipped" not in r]
    if not ok:
        return rounds[0]
    merged = {k: statistics.median(r[k] for r in ok)
              if _number(v) and any(r[k] != v for r in ok) else v
              for k, v in ok[0].items()}
    return {**merged, "rounds": rounds} if len(rounds) > 1 else merged


def _ratio(rows: dict, a: str, b: str, key: str) -> str | None:
    """a's figure over b's; measured in rounds, the median of the ratios of the rounds where
    both were measured, so that the machine's drift between rounds cancels."""
    if a not in rows or b not in rows or key not in rows[a] or key not in rows[b]:
        return None
    pairs = [(ra, rb) for ra, rb in zip(rows[a].get("rounds", []), rows[b].get("rounds", []),
                                        strict=False) if key in ra and key in rb]
    if len(pairs) > 1:
        ratio = statistics.median(ra[key] / rb[key] for ra, rb in pairs)
        return f"{a} / {b}: {ratio:.2f}x (median of {len(pairs)} rounds' ratios)"
    return f"{a} / {b}: {rows[a][key] / rows[b][key]:.2f}x"


def _table(header: list[str], rows: dict, cells, label) -> None:
    """A Markdown table of rows (name -> measured dict); a skipped row shows its note."""
    if not rows:
        return
    print("\n| " + " | ".join(header) + " |")
    print("| --- |" + " ---: |" * (len(header) - 1))
    for name, r in rows.items():
        if "skipped" in r:
            print(f"| {name} | {r['skipped']} |" + " |" * (len(header) - 2))
        else:
            print(f"| {label(name, r)} | " + " | ".join(cells(r)) + " |")


RATIOS = [  # (table, numerator row, denominator row, figure)
    ("train", "train fp32 fast path", "train fp32 step loop", "tgt_tok_s"),
    ("train", "train fp32 fast path", "train fp32 fast path, whole logits", "tgt_tok_s"),
    ("train", "train bf16 fast path", "train fp32 fast path", "tgt_tok_s"),
    ("train", "train bf16 fast path", "train bf16 fast path, whole logits", "tgt_tok_s"),
    ("train", "train bf16 step loop", "train fp32 step loop", "tgt_tok_s"),
    ("train", "train auto fast path", "train fp32 fast path", "tgt_tok_s"),
    ("train", "train auto step loop", "train fp32 step loop", "tgt_tok_s"),
    ("train", "train fp16 fast path", "train fp32 fast path", "tgt_tok_s"),
    ("train", "train fp32 fast path", "train fp32 fast path, no TF32", "tgt_tok_s"),
    ("decode", "beam 5 auto", "beam 5 fp32", "sent_s"),
    ("decode", "beam 5 bf16", "beam 5 fp32", "sent_s"),
    ("decode", "beam 5 int8", "beam 5 fp32", "sent_s"),
    ("decode", "beam 5 fp16", "beam 5 fp32", "sent_s"),
    ("decode", "beam 5 fp32, batches of 500", "beam 5 fp32", "sent_s"),
    ("decode", "greedy bf16", "greedy fp32", "sent_s"),
    ("decode", "greedy int8", "greedy fp32", "sent_s"),
    ("decode", "greedy bf16 256-sentence batches", "greedy fp32 256-sentence batches", "sent_s"),
    ("decode", "greedy int8 256-sentence batches", "greedy fp32 256-sentence batches", "sent_s"),
    ("decode", "greedy fp32 256-sentence batches", "greedy fp32", "sent_s"),
    ("decode", "beam 5 bf16 128-sentence batches", "beam 5 fp32 128-sentence batches", "sent_s"),
    ("decode", "beam 5 int8 128-sentence batches", "beam 5 fp32 128-sentence batches", "sent_s"),
    ("decode", "beam 5 fp32 128-sentence batches", "beam 5 fp32", "sent_s"),
    ("decode", "beam 5 fp32", "beam 5 fp32, one sentence at a time", "sent_s"),
]


def report(results: dict) -> None:
    """Print the machine, the GEMM peaks, the training and decoding tables and the ratios."""
    print(f"machine: {results['machine']}; overrides: {' '.join(results['overrides']) or 'none'}"
          + (f"; run: {results['run']}" if results.get("run") else ""))
    if results.get("rounds", 1) > 1:
        print(f"rows measured in {results['rounds']} rounds, one after another in each round "
              "(in reverse every other round), each time in a fresh process: medians")
    gemm = results["gemm"]
    if gemm:
        figures = ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in gemm.items())
        print(f"GEMM 2048x2048 (512x512 where under 3 GFLOP/s): {figures}")

    def train_cells(r: dict) -> list[str]:
        peak = gemm.get(r["precision"])
        share = f"{100 * r['gflop_s'] / peak:.0f}%" if peak else ""
        return [f"{r['tgt_tok_s']:,.0f}", f"{r['src_tok_s']:,.0f}", f"{r['gflop_s']:.1f}", share,
                f"{r['rss_mb']:,.0f}"]

    def decode_cells(r: dict) -> list[str]:
        return [f"{r['sent_s']:.1f}", f"{r['tok_s']:,.0f}", _fmt(r["bleu"], ".2f"),
                f"{r['rss_mb']:,.0f}"]

    def chosen(name: str, r: dict) -> str:
        return f" (auto chose {r['precision']})" if "auto" in name else ""

    _table(["training", "target tok/s", "source tok/s", "GFLOP/s", "of GEMM peak", "peak RSS MB"],
           results["train"], train_cells, lambda name, r: name + chosen(name, r))
    _table(["decoding test_2016_flickr", "sentences/s", "tokens/s", "BLEU", "peak RSS MB"],
           results["decode"], decode_cells,
           lambda name, r: f"{name} ({r['sentences']} sentences){chosen(name, r)}")
    ratios = [_ratio(results[table], a, b, key) for table, a, b, key in RATIOS]
    ratios = [r for r in ratios if r]
    if ratios:
        print("\nspeed ratios: " + "; ".join(ratios))
