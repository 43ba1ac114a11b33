"""`seq2seq-evaluate`: BLEU, chrF and TER of a trained model on test splits."""

from __future__ import annotations

from seq2seq.apps import EvaluateApp
from seq2seq.cli import command_line_overrides, hydra_app


@hydra_app("evaluate")
def main(cfg: EvaluateApp) -> None:
    """Translate the run's validation and test splits (or `splits=[...]`) and score them."""
    from seq2seq.evaluation.splits import evaluate  # torch loads only once the config is sound

    evaluate(cfg, command_line_overrides())


if __name__ == "__main__":
    main()
