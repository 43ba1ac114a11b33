"""`seq2seq-translate`: an interactive prompt on a terminal, line-in/line-out otherwise."""

from __future__ import annotations

import sys

from seq2seq.apps import TranslateApp
from seq2seq.cli import command_line_overrides, hydra_app


@hydra_app("translate")
def main(cfg: TranslateApp) -> None:
    """Translate from run_dir=PATH or checkpoint=PATH."""
    # torch loads only once the config is sound
    from seq2seq.decoding.loading import open_configured
    from seq2seq.decoding.translator import Translator

    translator = Translator(open_configured(cfg, command_line_overrides()), cfg.decode,
                            cfg.max_src_len)
    interactive = cfg.input is None and cfg.output is None and sys.stdin.isatty()
    if interactive:
        from seq2seq.frontends.session import Session

        status = Session(translator, show_scores=cfg.show_scores, show_time=cfg.show_time).run()
        sys.exit(status)
    from seq2seq.frontends.pipe import translate_stream

    translate_stream(translator, cfg.input, cfg.output, cfg.show_scores)


if __name__ == "__main__":
    main()
