"""`seq2seq-train` (also `python -m seq2seq.train`): train a model as configured; with `-m`
(Hydra multirun) one job per combination of the swept values (seq2seq.study.job)."""

from __future__ import annotations

from seq2seq.apps import TrainApp
from seq2seq.cli import command_line_overrides, hydra_app, run_dir, sweeping
from seq2seq.study.job import sweep_job


@hydra_app("train", guard=sweep_job)
def main(cfg: TrainApp) -> dict:
    """Train into the run directory (Hydra's output directory; hydra.run.dir=... chooses it);
    then, with train.evaluate_after, score it into result.json."""
    from seq2seq.study.job import train_job  # torch loads only once the config is sound

    return train_job(cfg, run_dir(), command_line_overrides(), write=sweeping())


if __name__ == "__main__":
    main()
