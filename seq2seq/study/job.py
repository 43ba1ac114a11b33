"""One training job of a study: train, score best.pt, write result.json; and the guard that runs
each job of `seq2seq-train -m` so that the sweep goes on past a failing job and, started again,
skips the jobs already done and resumes an interrupted one from its last checkpoint."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from seq2seq.apps import EvaluateApp, TrainApp
from seq2seq.errors import UserError
from seq2seq.study import result as results

log = logging.getLogger(__name__)


def _split_scores(split: dict) -> dict:
    scores = split["scores"]
    return {"bleu": scores["BLEU"]["score"], "bleu_lowercased": scores["BLEU_lowercased"]["score"],
            "chrf": scores["chrF2"]["score"], "sentences_per_s": split["sentences_per_s"]}


def evaluation_summary(cfg: TrainApp, run: Path) -> dict:
    """Score the run's best.pt on data.valid and data.test, decoding with cfg.decode."""
    from seq2seq.evaluation.splits import evaluate

    scored = evaluate(EvaluateApp(run_dir=str(run), which="best", decode=cfg.decode,
                                  device=cfg.train.device, threads=cfg.train.threads,
                                  data=cfg.data, progress=False), [])
    splits = {name: _split_scores(s) for name, s in scored["splits"].items()}
    valid = splits.pop(Path(cfg.data.valid).name)
    first_test = next(iter(splits.values()), valid)
    return {"decode": scored["decode"], "valid": valid,
            "test": splits, "decode_sentences_per_s": first_test["sentences_per_s"]}


def train_job(cfg: TrainApp, run: Path, overrides: list[str], write: bool = False) -> dict:
    """Train into run; with train.evaluate_after (or a stop) the result is also written to
    run/result.json (always when write). Returns the result (empty on a torchrun rank > 0)."""
    from seq2seq import checkpoint as ckpt
    from seq2seq.training.run import run_training

    reason = run_training(cfg, run, overrides)
    if os.environ.get("RANK", "0") != "0":
        return {}
    last = ckpt.load(run / ckpt.CHECKPOINT_DIR / "last.pt")
    p = last.training["progress"]
    stopped = reason.startswith("signal")
    result = {
        "status": results.STOPPED if stopped else results.DONE, "reason": reason,
        "overrides": results.parse_overrides(overrides),
        "config": results.flat(OmegaConf.to_container(OmegaConf.structured(cfg))),
        # tensors, each once: the tied output layer shares the target embedding's storage
        "parameters": sum({w.data_ptr(): w.numel() for w in last.weights.values()}.values()),
        "steps": p["step"], "epochs": p["epoch"], "train_minutes": p["seconds"] / 60,
        "train_tokens": p["tokens"], "train_tokens_per_s": p["tokens"] / max(p["seconds"], 1e-9),
        "best_step": p["saved_step"], "best_valid_bleu_during_training": p["saved_bleu"],
    }
    if cfg.train.evaluate_after and not stopped:
        result.update(evaluation_summary(cfg, run))
    if write or cfg.train.evaluate_after:
        log.info("result in %s", results.write(run, result))
    return result


def objective(result: dict | None) -> float:
    """What an Optuna sweep maximises: the validation BLEU of the job (NaN if it failed)."""
    if not result or result.get("status") != results.DONE:
        return math.nan
    valid = result.get("valid") or {}
    return float(valid.get("bleu", result.get("best_valid_bleu_during_training", math.nan)))


def _share_cores(cfg: DictConfig) -> None:
    """Under a launcher that runs n_jobs at once (joblib), give each job cores // n_jobs
    threads unless train.threads says otherwise, so that jobs x threads <= cores."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    n_jobs = OmegaConf.select(HydraConfig.get(), "launcher.n_jobs", default=None)
    if not n_jobs or cfg.train.threads:
        return
    cores = os.cpu_count() or 1
    parallel = cores if n_jobs < 0 else min(n_jobs, cores)
    with open_dict(cfg):
        cfg.train.threads = max(1, cores // parallel)


def sweep_job(cfg: DictConfig, run: Path, overrides: list[str],
              task: Callable[[], dict]) -> float:
    """Run one job of a sweep (task trains it from cfg): skipped if its result.json says done,
    resumed if it has a last checkpoint, recorded as failed with a one-line reason if it
    fails; returns its objective. A job stopped by a signal ends the sweep."""
    earlier = results.read(run)
    if earlier and earlier.get("overrides") != results.parse_overrides(overrides):
        # done, stopped or failed: another sweep's job, not to be skipped, resumed or retried
        log.error("%s holds another job (%s); start the sweep into a new hydra.sweep.dir",
                  run, earlier.get("overrides"))
        return math.nan
    if earlier and earlier.get("status") == results.DONE:
        log.info("job %s: done before (its result.json); skipped", run)
        return objective(earlier)
    config = results.job_config(cfg)
    _share_cores(cfg)
    if (run / "checkpoints" / "last.pt").is_file() and not cfg.train.resume:
        with open_dict(cfg):
            cfg.train.resume = str(run)
        log.info("job %s: resuming from its last checkpoint", run)
    try:
        done = task()
    except UserError as exc:
        done = results.failed(str(exc), overrides, config)
    except Exception as exc:  # a crash of one job (out of memory, a bug) must not end the sweep
        log.exception("job %s crashed", run)
        done = results.failed(f"{type(exc).__name__}: {exc}".splitlines()[0], overrides, config)
    if done.get("status") == results.FAILED:
        results.write(run, done)
        log.error("job %s failed: %s", run, done["reason"])
    if done.get("status") == results.STOPPED:
        sys.stderr.write(f"sweep stopped ({done['reason']}) during job {run}; the same command "
                         "again skips the jobs done and resumes this one\n")
        raise SystemExit(1)
    return objective(done)
