"""Training and decoding speed on real Multi30k batches, printed as a Markdown table.

    python scripts/benchmark.py [overrides] [--sections gemm,train,decode] [--run RUN_DIR]
                                [--windows 5] [--steps 4] [--device cpu] [--json FILE]

Overrides are those of seq2seq-train (e.g. experiment=joeynmt_reference, model=bahdanau,
train.max_tokens=2048). Every row runs in a fresh process, so its peak resident memory is its
own. Training rows time forward + backward + optimiser step over real token batches after a
warm-up, and report the median of --windows windows of --steps steps each; decoding rows
translate Multi30k test_2016_flickr. FLOP/s come from torch's FLOP counter and are compared with
the GEMM peak torch reaches here at the same dtype, measured in the same run. With --run, the
trained weights of RUN_DIR/checkpoints/best.pt are used and decoding rows report BLEU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext

ROWS_TRAIN = [  # (name, precision, decoder path, loss a chunk of rows at a time)
    ("train fp32 fast path", "fp32", "fast", True),
    ("train fp32 step loop", "fp32", "loop", True),
    ("train fp32 fast path, whole logits", "fp32", "fast", False),
    ("train bf16 fast path", "bf16", "fast", False),
    ("train bf16 step loop", "bf16", "loop", False),
]
ROWS_DECODE = [  # (name, strategy, beam, precision, batch size, sentences)
    ("greedy fp32", "greedy", 1, "fp32", 64, None),
    ("beam 5 fp32", "beam", 5, "fp32", 64, None),
    ("greedy bf16", "greedy", 1, "bf16", 64, None),
    ("beam 5 bf16", "beam", 5, "bf16", 64, None),
    ("greedy int8", "greedy", 1, "int8", 64, None),
    ("beam 5 int8", "beam", 5, "int8", 64, None),
    ("beam 5 fp32, one sentence at a time", "beam", 5, "fp32", 1, 200),
]


def _config(overrides: list[str]):
    import hydra

    from seq2seq.cli import config_dir, register_schemas, to_config

    register_schemas()
    with hydra.initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return to_config(hydra.compose("train", overrides=overrides), "train")


def _model_and_data(overrides: list[str], run: str | None, threads: int, device: str):
    import torch

    from seq2seq import checkpoint as ckpt
    from seq2seq.data.pipeline import prepare

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg, tokenizer = _config(overrides), None
    if run:  # the run's own config and tokenizer
        from seq2seq.config import TrainApp
        from seq2seq.overrides import typed

        payload = ckpt.load(ckpt.resolve(run, "best"))
        cfg = typed(TrainApp, payload["config"], "checkpoint")
        tokenizer = ckpt.tokenizer_of(payload, ckpt.resolve(run, "best"))
    data = prepare(cfg.data, cfg.tokenizer, tokenizer)
    model = ckpt.build_model(cfg.model, data.tokenizer)
    if run:
        model.load_state_dict(payload["model"])
    return cfg, data, model.to(device)


def _autocast(precision: str, device: str):
    import torch

    return torch.autocast(device, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


def _product_seconds(a, b, device: str) -> float:
    """Seconds for one a @ b, the GPU's queue drained before and after."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def gemm_peak(dtype_name: str, threads: int, device: str) -> float:
    """GFLOP/s of a 2048x2048 matrix product at the dtype (median of 5); a dtype too slow for
    that (under ~3 GFLOP/s, e.g. bf16 without matrix hardware: minutes per product) is reported
    from one 512x512 product instead."""
    import torch

    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
    small = torch.randn(512, 512, dtype=dtype, device=device)
    small @ small
    probe = _product_seconds(small, small, device)
    if probe > 0.1:
        return 2 * 512**3 / probe / 1e9
    a = torch.randn(2048, 2048, dtype=dtype, device=device)
    b = torch.randn(2048, 2048, dtype=dtype, device=device)
    for _ in range(2):
        a @ b
    times = [_product_seconds(a, b, device) for _ in range(5)]
    return 2 * 2048**3 / statistics.median(times) / 1e9


def _train_step(model, batch, optimizer, pad, path: str, chunked: bool, autocast) -> None:
    """One update as the training loop makes it (which takes the chunked loss in fp32); path
    "loop" forces the decoder's step loop."""
    from seq2seq.training.loss import batch_loss, decoder_loss

    with autocast:
        if path == "fast":
            loss = batch_loss(model, batch, pad, 0.1, chunked=chunked)
        else:
            memory, state = model.encode(batch.src, batch.src_lengths)
            out = model.decoder.forward_steps(batch.tgt_in, state, memory,
                                              positions=batch.tgt_out != pad, project=not chunked)
            loss = decoder_loss(out, model.decoder.output, batch.tgt_out, pad, 0.1)
    loss = loss / int((batch.tgt_out != pad).sum())
    loss.backward()
    if optimizer is not None:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def measure_train(overrides, precision, path, chunked, windows, steps, threads, device) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from seq2seq.data.batching import collate, token_batches

    cfg, data, model = _model_and_data(overrides, None, threads, device)
    if path == "fast" and not model.decoder.fast_path:
        return {"skipped": "no fast path for this attention setup"}
    sp, train = data.tokenizer.special, data.train
    order = token_batches([len(s) for s in train.src_ids], [len(t) for t in train.tgt_ids],
                          max_tokens=cfg.train.max_tokens, seed=cfg.train.seed, epoch=0)
    batches = [collate([train.src_ids[i] for i in b], [train.tgt_ids[i] for i in b], b,
                       pad_id=sp.pad, bos_id=sp.bos, eos_id=sp.eos).to(device)
               for b in order[: 2 + windows * steps]]
    autocast = _autocast(precision, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    flops = tokens = 0
    for b in batches[:3]:  # FLOPs per target token, from sample batches (forward + backward);
        # counted on whole logits: the counter misses the chunked loss's in-place products
        with FlopCounterMode(display=False) as counter:
            _train_step(model, b, None, sp.pad, path, False, autocast)
        flops += counter.get_total_flops()
        tokens += int((b.tgt_out != sp.pad).sum())
        model.zero_grad(set_to_none=True)
    for b in batches[:2]:  # warm-up
        _train_step(model, b, optimizer, sp.pad, path, chunked, autocast)
    tgt_rates, src_rates = [], []
    for w in range(windows):
        window = batches[2 + w * steps : 2 + (w + 1) * steps]
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for b in window:
            _train_step(model, b, optimizer, sp.pad, path, chunked, autocast)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        tgt_rates.append(sum(int((b.tgt_out != sp.pad).sum()) for b in window) / seconds)
        src_rates.append(sum(int(b.src_lengths.sum()) for b in window) / seconds)
    tgt = statistics.median(tgt_rates)
    return {"tgt_tok_s": tgt, "src_tok_s": statistics.median(src_rates),
            "gflop_s": flops / tokens * tgt / 1e9,
            "params": sum(p.numel() for p in model.parameters())}


def measure_decode(overrides, run, strategy, beam, precision, batch_size, limit, threads,
                   device) -> dict:

    from seq2seq.inference import quantize_int8
    from seq2seq.scoring import bleu
    from seq2seq.search import SearchSettings
    from seq2seq.translator import translate_ids

    from seq2seq.data.pipeline import read_split_text

    cfg, data, model = _model_and_data(overrides, run, threads, device)
    model.eval()
    if precision == "int8":
        model = quantize_int8(model)
    src, refs = read_split_text(cfg.data, "test_2016_flickr")
    src, refs = (src[:limit], refs[:limit]) if limit else (src, refs)
    tok = data.tokenizer
    ids = tok.encode_src(src)
    settings = SearchSettings(bos=tok.special.bos, eos=tok.special.eos, beam_size=beam,
                              max_len_a=cfg.decode.max_len_a, max_len_b=cfg.decode.max_len_b)
    autocast = _autocast(precision, device)

    def run_all(subset):
        with autocast:
            return translate_ids(model, subset, settings=settings, strategy=strategy,
                                 batch_size=batch_size, pad_id=tok.special.pad, device=device)

    run_all(ids[:batch_size])  # warm-up
    start = time.perf_counter()
    hyps = run_all(ids)
    seconds = time.perf_counter() - start
    n_tokens = sum(len(h[0].tokens) + 1 for h in hyps)
    text = tok.decode_tgt([h[0].tokens for h in hyps])
    return {"sent_s": len(ids) / seconds, "tok_s": n_tokens / seconds,
            "bleu": bleu(text, refs) if run else None, "sentences": len(ids)}


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


def _bf16_unsupported(gemm: dict) -> str | None:
    """A note when bf16 matrix products run far slower than fp32 here (no bf16 hardware)."""
    if "bf16" in gemm and gemm["bf16"] < gemm["fp32"] / 4:
        return (f"bf16 rows skipped: bf16 GEMM runs at {gemm['bf16']:.1f} GFLOP/s against "
                f"{gemm['fp32']:.1f} in fp32 on this CPU (no bf16 matrix hardware)")
    return None


def _machine(threads: int, device: str) -> str:
    """The CPU model, cores used, torch version and the GPU if one is used."""
    import os

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu} ({os.cpu_count()} cores, {threads} threads), torch {torch.__version__}"
    if device == "cuda":
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--sections", default="gemm,train,decode")
    parser.add_argument("--run", default=None)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", default="", help="only rows whose name contains one of these "
                        "comma-separated words")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    wanted = [w for w in args.rows.split(",") if w]
    keep = lambda name: not wanted or any(w in name for w in wanted)  # noqa: E731
    results: dict = {"machine": _machine(args.threads, args.device),
                     "overrides": args.overrides, "gemm": {}, "train": {}, "decode": {}}
    if "gemm" in sections:
        for dtype in ("fp32", "bf16"):
            results["gemm"][dtype] = isolated(gemm_peak, dtype, args.threads, args.device)
    slow_bf16 = _bf16_unsupported(results["gemm"])
    if slow_bf16:
        print(slow_bf16, flush=True)
    if "train" in sections:
        for name, precision, path, chunked in ROWS_TRAIN:
            if keep(name) and not (precision == "bf16" and slow_bf16):
                results["train"][name] = row(name, measure_train, args.overrides, precision, path,
                                             chunked, args.windows, args.steps, args.threads,
                                             args.device)
                results["train"][name]["precision"] = precision
    if "decode" in sections:
        for name, strategy, beam, precision, batch, limit in ROWS_DECODE:
            skip = (precision == "int8" and args.device != "cpu") or (
                precision == "bf16" and slow_bf16)
            if keep(name) and not skip:
                results["decode"][name] = row(name, measure_decode, args.overrides, args.run,
                                              strategy, beam, precision, batch, limit,
                                              args.threads, args.device)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def _ratio(rows: dict, a: str, b: str, key: str) -> str | None:
    if a in rows and b in rows and key in rows[a] and key in rows[b]:
        return f"{a} / {b}: {rows[a][key] / rows[b][key]:.2f}x"
    return None


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


def report(results: dict) -> None:
    print(f"machine: {results['machine']}; overrides: {' '.join(results['overrides']) or 'none'}")
    gemm = results["gemm"]
    if gemm:
        figures = ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in gemm.items())
        print(f"GEMM 2048x2048 (512x512 where under 3 GFLOP/s): {figures}")
    train, decode = results["train"], results["decode"]

    def train_cells(r: dict) -> list[str]:
        peak = gemm.get(r["precision"])
        share = f"{100 * r['gflop_s'] / peak:.0f}%" if peak else ""
        return [f"{r['tgt_tok_s']:,.0f}", f"{r['src_tok_s']:,.0f}", f"{r['gflop_s']:.1f}", share,
                f"{r['rss_mb']:,.0f}"]

    def decode_cells(r: dict) -> list[str]:
        return [f"{r['sent_s']:.1f}", f"{r['tok_s']:,.0f}", _fmt(r["bleu"], ".2f"),
                f"{r['rss_mb']:,.0f}"]

    _table(["training", "target tok/s", "source tok/s", "GFLOP/s", "of GEMM peak", "peak RSS MB"],
           train, train_cells, lambda name, r: name)
    _table(["decoding test_2016_flickr", "sentences/s", "tokens/s", "BLEU", "peak RSS MB"],
           decode, decode_cells, lambda name, r: f"{name} ({r['sentences']} sentences)")
    ratios = [
        _ratio(train, "train fp32 fast path", "train fp32 step loop", "tgt_tok_s"),
        _ratio(train, "train fp32 fast path", "train fp32 fast path, whole logits", "tgt_tok_s"),
        _ratio(train, "train bf16 fast path", "train fp32 fast path", "tgt_tok_s"),
        _ratio(train, "train bf16 step loop", "train fp32 step loop", "tgt_tok_s"),
        _ratio(decode, "beam 5 bf16", "beam 5 fp32", "sent_s"),
        _ratio(decode, "beam 5 int8", "beam 5 fp32", "sent_s"),
        _ratio(decode, "greedy int8", "greedy fp32", "sent_s"),
        _ratio(decode, "beam 5 fp32", "beam 5 fp32, one sentence at a time", "sent_s"),
    ]
    ratios = [r for r in ratios if r]
    if ratios:
        print("\nspeed ratios: " + "; ".join(ratios))


if __name__ == "__main__":
    main()
