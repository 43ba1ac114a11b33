"""`seq2seq-train` (also `python -m seq2seq.train`): train a model as configured."""

from __future__ import annotations

from seq2seq.cli import command_line_overrides, hydra_app, run_dir
from seq2seq.config import TrainApp


@hydra_app("train")
def main(cfg: TrainApp) -> None:
    """Train into the run directory (Hydra's output directory; hydra.run.dir=... chooses it)."""
    from seq2seq.training.run import run_training  # torch loads only once the config is sound

    run_training(cfg, run_dir(), command_line_overrides())


if __name__ == "__main__":
    main()
