"""`seq2seq-distill`: a trained model (or ensemble) translates its training source for a
student (sequence-level knowledge distillation)."""

from __future__ import annotations

from seq2seq.apps import DistillApp
from seq2seq.cli import command_line_overrides, hydra_app


@hydra_app("distill")
def main(cfg: DistillApp) -> None:
    """Write output=PREFIX's PREFIX.SRC and PREFIX.TGT from run_dir's training split."""
    from seq2seq.decoding.distillation import distill  # torch loads only once the config is sound

    distill(cfg, command_line_overrides())


if __name__ == "__main__":
    main()
