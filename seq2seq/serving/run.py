"""Running the service: open the model, describe it, bind the socket, serve until a signal."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket

import uvicorn

from seq2seq.apps import ServeApp
from seq2seq.data.multi30k import sha256_of
from seq2seq.decoding.loading import Loaded, open_configured
from seq2seq.decoding.translator import Translator
from seq2seq.errors import UserError

log = logging.getLogger("seq2seq.serve")


class _Server(uvicorn.Server):
    """uvicorn's server, except that after a graceful stop on SIGTERM or Ctrl-C the process
    exits 0 (uvicorn raises the signal again once it has stopped)."""

    @contextlib.contextmanager
    def capture_signals(self):
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {s: signal.signal(s, self.handle_exit) for s in signals}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def model_info(loaded: Loaded, cfg: ServeApp) -> dict:
    """What GET /v1/model says: pair, parameters, the GRU settings, checkpoints, tokenizer."""
    data, tok = loaded.config["data"], loaded.tokenizer
    return {
        "pair": f"{data['src_lang']}-{data['tgt_lang']}",
        "src_lang": data["src_lang"],
        "tgt_lang": data["tgt_lang"],
        "parameters": loaded.parameters,
        "model": loaded.config["model"],
        "checkpoints": [{"path": str(p), "sha256": sha256_of(p)} for p in loaded.members],
        "tokenizer": {
            "model_type": loaded.config.get("tokenizer", {}).get("model_type"),
            "joint": tok.joint,
            "src_vocab_size": tok.src_vocab_size,
            "tgt_vocab_size": tok.tgt_vocab_size,
        },
        "decode": dataclasses.asdict(cfg.decode),
        "precision": loaded.precision,
        "limits": {k: getattr(cfg.serve, k) for k in (
            "max_sentences", "max_chars", "max_body_bytes", "max_beam_size")},
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); a port in use is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"serve.host={host} serve.port={port}: cannot listen there "
                        f"({exc.strerror})") from exc
    sock.listen(128)
    return sock


def serve(cfg: ServeApp, overrides: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C: then stop accepting, finish what is in flight, return."""
    from seq2seq.serving.app import create_app

    if cfg.serve.api_key is None and os.environ.get("SEQ2SEQ_API_KEY"):
        cfg.serve.api_key = os.environ["SEQ2SEQ_API_KEY"]
    loaded = open_configured(cfg, overrides)
    translator = Translator(loaded, cfg.decode, cfg.max_src_len)
    app = create_app(translator, cfg.serve, model_info(loaded, cfg))
    sock = bind(cfg.serve.host, cfg.serve.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {model_info(loaded, cfg)['pair']} on http://{shown}:{port}/ "
          f"(API at /v1/translate, docs at /docs); Ctrl-C stops", flush=True)
    server = _Server(uvicorn.Config(app, log_level="info", access_log=True,
                                    timeout_graceful_shutdown=60))
    server.run(sockets=[sock])
    log.info("stopped")
