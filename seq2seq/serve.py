"""`seq2seq-serve`: the HTTP translation service (JSON API and web page) for a trained model."""

from __future__ import annotations

from seq2seq.apps import ServeApp
from seq2seq.cli import command_line_overrides, hydra_app


@hydra_app("serve")
def main(cfg: ServeApp) -> None:
    """Serve run_dir=PATH (or checkpoint=PATH, with ensemble=[...]) on serve.host:serve.port."""
    try:
        from seq2seq.serving.run import serve  # torch loads only once the config is sound
    except ImportError as exc:
        from seq2seq.errors import UserError

        raise UserError(f"seq2seq-serve needs the serve extra ({exc.name} is missing): "
                        "pip install 'seq2seq[serve]'") from exc
    serve(cfg, command_line_overrides())


if __name__ == "__main__":
    main()
