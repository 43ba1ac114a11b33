"""`seq2seq-inspect`: each GRU's tensors in nn.GRU's terms, the bridge, attention, parameters."""

from __future__ import annotations

from seq2seq.apps import InspectApp
from seq2seq.cli import hydra_app


@hydra_app("inspect")
def main(cfg: InspectApp) -> None:
    """Print the configured model's shapes and parameter counts."""
    from seq2seq.model.summary import describe  # torch loads only once the config is sound

    print(describe(cfg))


if __name__ == "__main__":
    main()
