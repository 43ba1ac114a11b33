"""The FastAPI application: /v1/translate, /v1/health, /v1/model, the page at /, docs at /docs.

Every refusal is a JSON body {"error": {"field": ..., "message": ...}} with a 4xx status that
names the field and the limit; nothing a caller sends stops the service.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse

from seq2seq.config import ServeConfig
from seq2seq.decoding.translator import Translation, Translator, decode_settings
from seq2seq.errors import UserError
from seq2seq.serving.batcher import Batcher
from seq2seq.serving.limits import BodyLimit, Refused, api_key_check, refusal
from seq2seq.serving.schema import (
    ErrorResponse,
    Health,
    Hypothesis,
    SentenceResult,
    TranslateRequest,
    TranslateResponse,
)

log = logging.getLogger("seq2seq.serve")
ERRORS = {code: {"model": ErrorResponse} for code in (401, 413, 422)}


def _check_limits(body: TranslateRequest, cfg: ServeConfig) -> None:
    if len(body.text) > cfg.max_sentences:
        raise Refused(413, "text", f"{len(body.text)} sentences; at most {cfg.max_sentences} "
                      "a request (serve.max_sentences)")
    for i, line in enumerate(body.text):
        if len(line) > cfg.max_chars:
            raise Refused(413, f"text.{i}", f"{len(line)} characters; at most {cfg.max_chars} "
                          "a sentence (serve.max_chars)")
    if body.beam_size is not None and body.beam_size > cfg.max_beam_size:
        raise Refused(422, "beam_size", f"{body.beam_size}: at most {cfg.max_beam_size} "
                      "(serve.max_beam_size)")


def _result(nbest: list[Translation], attention: bool) -> SentenceResult:
    best = nbest[0]
    return SentenceResult(
        text=best.text, score=best.score,
        n_best=[Hypothesis(
            text=t.text, score=t.score, tokens=t.tgt_pieces if attention else None,
            attention=t.attention.tolist() if attention and t.attention is not None else None,
        ) for t in nbest],
        source_tokens=best.src_pieces if attention else None,
    )


def _routes(app: FastAPI, translator: Translator, cfg: ServeConfig, info: dict) -> None:
    guard = [Depends(api_key_check(cfg.api_key))]

    @app.post("/v1/translate", response_model=TranslateResponse, response_model_exclude_none=True,
              dependencies=guard, responses=ERRORS)
    async def translate(body: TranslateRequest, request: Request) -> TranslateResponse:
        """Translate sentences; concurrent requests are decoded together."""
        start = time.perf_counter()
        _check_limits(body, cfg)
        try:
            decode = decode_settings(translator.decode, beam_size=body.beam_size,
                                     n_best=body.n_best, length_penalty=body.length_penalty)
        except UserError as exc:
            field = str(exc).split("=", 1)[0].removeprefix("decode.")
            raise Refused(422, field, str(exc)) from exc
        results = await app.state.batcher.translate(body.text, decode, body.attention)
        ms = 1000 * (time.perf_counter() - start)
        text = f": {body.text!r}" if cfg.log_text else ""
        log.info("translated %d sentences in %.0f ms%s", len(body.text), ms, text)
        return TranslateResponse(translations=[_result(r, body.attention) for r in results],
                                 milliseconds=ms)

    @app.get("/v1/health", response_model=Health)
    async def health() -> Health:
        """Whether the service runs, and how much it has translated."""
        c = app.state.batcher.counts
        return Health(status="ok", requests=c.requests, sentences=c.sentences,
                      batches=c.batches, auth=bool(cfg.api_key))

    @app.get("/v1/model", dependencies=guard, responses=ERRORS)
    async def model() -> dict:
        """The language pair, parameters, GRU settings, checkpoint and tokenizer."""
        return info

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("seq2seq.serving").joinpath("page.html").read_text("utf-8")


def create_app(translator: Translator, cfg: ServeConfig, info: dict) -> FastAPI:
    """The service for translator, limited and guarded as cfg says; info is /v1/model's body."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.batcher = Batcher(translator, cfg.max_batch_sentences, cfg.max_wait_ms)
        app.state.batcher.start()
        yield
        await app.state.batcher.stop()

    app = FastAPI(title="seq2seq translation service", lifespan=lifespan,
                  description=f"GRU encoder-decoder, {info['pair']}")

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return refusal(exc.status, exc.field, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(part) for part in first.get("loc", ())[1:]] or ["body"]
        field = "body" if first.get("type") == "json_invalid" else ".".join(loc)
        return refusal(422, field, first.get("msg", "invalid request"))

    _routes(app, translator, cfg, info)
    if cfg.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cfg.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes)
    return app
