"""The interactive translation prompt: line editing and history, commands, heatmaps."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seq2seq.decoding.translator import Translation, Translator, decode_settings
from seq2seq.errors import UserError
from seq2seq.frontends.heatmap import render_text, save_png

HELP = """Type a sentence to translate it. Commands:
  :beam N          beam size N (1 = greedy search)
  :nbest N         show the N best translations (raises the beam to N if needed)
  :attn            draw the attention heatmap after each translation (toggle)
  :save-attn FILE  save the last translation's attention as a PNG
  :scores, :time   show scores / translation time (toggle)
  :help            this text
  :quit            leave (Ctrl-D works too; Ctrl-C clears the line)"""


def clean_input(line: str) -> tuple[str, bool]:
    """line with undecodable bytes (surrogate escapes) replaced by U+FFFD, and whether any were."""
    cleaned = "".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in line)
    return cleaned, cleaned != line


class Session:
    def __init__(self, translator: Translator, *, show_scores: bool, show_time: bool) -> None:
        self.t = translator
        self.show_scores, self.show_time, self.show_attn = show_scores, show_time, False
        self.last: Translation | None = None

    def say(self, text: str) -> None:
        print(text, flush=True)

    def _set_decode(self, **changes) -> None:
        self.t.decode = decode_settings(self.t.decode, **changes)

    def _positive(self, arg: str, name: str) -> int | None:
        if not arg.isdigit() or int(arg) < 1:
            self.say(f"{name} needs a whole number >= 1, e.g. {name} 5")
            return None
        return int(arg)

    def command(self, line: str) -> bool:
        """Run a :command; returns False when the session should end."""
        name, _, arg = line.strip().partition(" ")
        arg = arg.strip()
        if name == ":quit":
            return False
        if name == ":help":
            self.say(HELP)
        elif name == ":beam" and (n := self._positive(arg, ":beam")):
            nbest = min(self.t.decode.n_best, n)
            self._set_decode(beam_size=n, n_best=nbest)
            self.say(f"beam size {n}" + (" (greedy search)" if n == 1 else ""))
        elif name == ":nbest" and (n := self._positive(arg, ":nbest")):
            beam = max(self.t.decode.beam_size, n)
            self._set_decode(beam_size=beam, n_best=n)
            self.say(f"showing {n} best" + (f" (beam size {beam})" if beam > 1 else ""))
        elif name == ":attn":
            self.show_attn = not self.show_attn
            self.say(f"attention heatmap {'on' if self.show_attn else 'off'}")
        elif name in (":scores", ":time"):
            key = "show_scores" if name == ":scores" else "show_time"
            setattr(self, key, not getattr(self, key))
            self.say(f"{name[1:]} {'on' if getattr(self, key) else 'off'}")
        elif name == ":save-attn":
            self.save_attention(arg)
        elif name not in (":beam", ":nbest"):
            self.say(f"unknown command {name}; :help lists them")
        return True

    def save_attention(self, arg: str) -> None:
        if not arg:
            self.say("usage: :save-attn FILE.png")
        elif self.last is None:
            self.say("nothing translated yet")
        else:
            try:
                save_png(self.last.attention, self.last.src_pieces, self.last.tgt_pieces, Path(arg))
                self.say(f"saved {arg}")
            except UserError as exc:
                self.say(str(exc))

    def translate(self, line: str) -> None:
        line, replaced = clean_input(line)
        if replaced:
            self.say("warning: bytes that are not UTF-8 were replaced by U+FFFD")
        ids, cut = self.t.encode([line])
        if cut[0]:
            self.say(f"warning: input of {cut[0]} subwords truncated to {self.t.max_src_len}")
        start = time.perf_counter()
        (nbest,) = self.t.translate_ids(ids, attention=True)
        ms = 1000 * (time.perf_counter() - start)
        self.last = nbest[0]
        for rank, tr in enumerate(nbest, start=1):
            prefix = f"{rank}. " if len(nbest) > 1 else ""
            score = f"  [score {tr.score:.3f}]" if self.show_scores else ""
            self.say(f"{prefix}{tr.text}{score}")
        if self.show_time:
            self.say(f"({ms:.0f} ms)")
        if self.show_attn:
            self.say(render_text(self.last.attention, self.last.src_pieces, self.last.tgt_pieces))

    def run(self) -> int:
        """Prompt until :quit or Ctrl-D; returns the exit status."""
        import readline  # noqa: F401  (line editing and history for input())

        sys.stdin.reconfigure(errors="surrogateescape")
        self.say("Type a sentence and press Enter; :help lists commands, Ctrl-D quits.")
        while True:
            try:
                line = input("> ")
            except KeyboardInterrupt:
                print(flush=True)
                continue
            except EOFError:
                print(flush=True)
                return 0
            if not line.strip():
                continue
            try:
                if line.startswith(":"):
                    if not self.command(line):
                        return 0
                else:
                    self.translate(line)
            except KeyboardInterrupt:
                self.say("(interrupted)")
