"""What scripts/benchmark.py measures, one row at a time (each in its own process).

Training rows time the training loop's own update (`Trainer.update`: the configured loss,
label smoothing, precision, clipping, optimiser and schedule) over the batches the loop would
take; decoding rows open a model with `open_model`, the loader every command uses.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import tempfile
import time
from pathlib import Path


def config(overrides: list[str], run: str | None):
    """The train config of these overrides; with run, that run's saved config changed by them
    (weight-shaping changes are refused with a one-line UserError)."""
    from seq2seq import checkpoint as ckpt
    from seq2seq.composition import compose
    from seq2seq.training.run import resumed_config

    cfg = compose("train", overrides)
    if run:
        saved = ckpt.load(ckpt.resolve(run, "last")).config
        cfg = resumed_config(saved, cfg, overrides, what=f"--run {run}")
    return cfg


def make_trainer(overrides: list[str], run: str | None, threads: int, device: str, folder: Path):
    """The Trainer that `seq2seq-train` would build for these overrides (with run: resuming
    that run), writing into folder; and its first batches as the loop would take them."""
    from seq2seq.training.distributed import Ranks
    from seq2seq.training.run import build_trainer

    overrides = [*overrides, f"train.threads={threads}", f"train.device={device}",
                 "train.progress=false"]
    if run:
        overrides.append(f"train.resume={run}")
    return build_trainer(config(overrides, None), folder, overrides, Ranks())


def loop_groups(trainer, count: int) -> list:
    """The batches of the loop's next count updates (train.accumulate batches each), from where
    training stands, into later epochs if needed."""
    groups, epoch, start, step = [], trainer.progress.epoch, trainer.progress.batch, 0
    step = trainer.tc.accumulate
    while len(groups) < count:
        every = trainer.epoch_batches(epoch)[start:]
        groups += [[trainer.collate(i, epoch).to(trainer.device) for i in every[s : s + step]]
                   for s in range(0, len(every), step)]
        epoch, start = epoch + 1, 0
    return groups[:count]


def target_tokens(trainer, groups: list) -> int:
    """Target tokens (padding left out) of the batches of groups, as the loop counts them."""
    return sum(int((b.tgt_out != trainer.sp.pad).sum()) for g in groups for b in g)


def timed_updates(trainer, groups: list) -> float:
    """Seconds for the loop's update over each group in turn (the GPU's queue drained)."""
    import torch

    cuda = trainer.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for group in groups:
        trainer.update(group)
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _flops_per_token(trainer, groups: list) -> float:
    """Model FLOPs (forward + backward) per target token, from torch's counter on sample
    batches, over whole logits (the counter misses the chunked loss's in-place products)."""
    from torch.utils.flop_counter import FlopCounterMode

    from seq2seq.training.step import training_loss

    flops = tokens = 0
    pad = trainer.sp.pad
    for b in (g[0] for g in groups):
        with FlopCounterMode(display=False) as counter:
            training_loss(trainer.tc, trainer.net, b, pad, trainer.precision,
                          chunk_rows=0).backward()
        flops += counter.get_total_flops()
        tokens += int((b.tgt_out != pad).sum())
    trainer.state.optimizer.zero_grad(set_to_none=True)
    return flops / tokens


def measure_train(overrides, run, windows, steps, threads, device) -> dict:
    """Target and source tokens/s of the loop's update: median of windows x steps updates."""
    with tempfile.TemporaryDirectory() as folder:
        trainer = make_trainer(overrides, run, threads, device, Path(folder))
        if trainer.tc.fast_path and not trainer.state.model.decoder.fast_path:
            return {"skipped": "no fast path for this attention setup"}
        trainer.state.model.train()
        groups = loop_groups(trainer, 2 + windows * steps)
        per_token = _flops_per_token(trainer, groups[:3])
        timed_updates(trainer, groups[:2])  # warm-up
        tgt_rates, src_rates, tgt_tokens = [], [], 0
        for w in range(windows):
            window = groups[2 + w * steps : 2 + (w + 1) * steps]
            seconds = timed_updates(trainer, window)
            batches = [b for g in window for b in g]
            tokens = target_tokens(trainer, window)
            tgt_rates.append(tokens / seconds)
            tgt_tokens += tokens
            src_rates.append(sum(int(b.src_lengths.sum()) for b in batches) / seconds)
        tgt = statistics.median(tgt_rates)
        return {"tgt_tok_s": tgt, "src_tok_s": statistics.median(src_rates),
                "gflop_s": per_token * tgt / 1e9, "precision": trainer.precision,
                "tgt_tokens_per_update": tgt_tokens / (windows * steps),
                "params": sum(p.numel() for p in trainer.state.model.parameters())}


def decoding_job(overrides, run, strategy, beam, precision, batch_size, limit, threads,
                 device):
    """What a decoding row translates, warmed up: the loaded model (run's best.pt, or an
    untrained one of the config), its decode settings, test_2016_flickr's subword ids and
    references (the first limit)."""
    import torch

    from seq2seq.data.pipeline import read_split_text
    from seq2seq.decoding.loading import open_model
    from seq2seq.overrides import explicit_values

    torch.set_num_threads(threads)
    cfg = config(overrides, run)
    quantize = "int8" if precision == "int8" else "none"
    decode = dataclasses.replace(cfg.decode, strategy=strategy, beam_size=beam, n_best=1,
                                 batch_size=batch_size)
    with tempfile.TemporaryDirectory() as folder:
        source = run
        if not run:  # an untrained model of the config, saved and opened like a trained one
            trainer = make_trainer(overrides, None, threads, device, Path(folder))
            trainer.checkpoints.save(trainer.state)
            source = folder
        loaded = open_model(source, which="best" if run else "last", device=device,
                            precision="fp32" if precision == "int8" else precision,
                            quantize=quantize, decode=decode,
                            model_changes=explicit_values(cfg, overrides, ("model",)))
    src, refs = read_split_text(cfg.data, "test_2016_flickr")
    src, refs = (src[:limit], refs[:limit]) if limit else (src, refs)
    ids = loaded.tokenizer.encode_src(src)
    loaded.search(ids[:batch_size], decode)  # warm-up
    return loaded, decode, ids, refs


def measure_decode(overrides, run, strategy, beam, precision, batch_size, limit, threads,
                   device) -> dict:
    """Sentences/s (and BLEU, with run) translating test_2016_flickr, and that translation's
    minor page faults: each is a 4 KB page freshly mapped, about a microsecond on a virtual
    machine, and they come when glibc's malloc hands freed blocks back to the system and the next
    step's blocks are paged in again (int8 beam search: 85,000-600,000 a pass, from one process
    to the next, on a 2-core EPYC)."""
    from seq2seq.evaluation.scoring import bleu

    loaded, decode, ids, refs = decoding_job(overrides, run, strategy, beam, precision,
                                             batch_size, limit, threads, device)
    tok = loaded.tokenizer
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    hyps = loaded.search(ids, decode)
    seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    n_tokens = sum(len(h[0].tokens) + 1 for h in hyps)
    text = tok.decode_tgt([h[0].tokens for h in hyps])
    return {"sent_s": len(ids) / seconds, "tok_s": n_tokens / seconds,
            "bleu": bleu(text, refs) if run else None, "sentences": len(ids),
            "precision": loaded.precision, "page_faults": faults}


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
