"""The JSON the service takes and gives, as pydantic models (FastAPI validates and documents
them at /docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TranslateRequest(BaseModel):
    """POST /v1/translate. Types are strict: "5" is not a beam size."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: list[str] = Field(description="sentences to translate; an empty string stays empty")
    beam_size: int | None = Field(None, ge=1, description="1: greedy; default: the server's")
    n_best: int | None = Field(None, ge=1, description="translations per sentence, <= beam_size")
    length_penalty: float | None = Field(None, ge=0.0, le=10.0, allow_inf_nan=False,
                                         description="GNMT alpha")
    attention: bool = Field(False, description="also return subwords and attention weights")


class Hypothesis(BaseModel):
    text: str
    score: float
    tokens: list[str] | None = None  # output subwords and </s>, with attention=true
    attention: list[list[float]] | None = None  # (len(tokens), len(source_tokens))


class SentenceResult(BaseModel):
    text: str  # the best translation
    score: float
    n_best: list[Hypothesis]  # best first
    source_tokens: list[str] | None = None  # source subwords and </s>, with attention=true


class TranslateResponse(BaseModel):
    translations: list[SentenceResult]
    milliseconds: float  # from receiving the request to answering it


class ErrorBody(BaseModel):
    field: str  # the request field at fault ("body" for the body as a whole)
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str
    requests: int  # translation requests answered
    sentences: int  # sentences decoded
    batches: int  # decoding batches run (fewer than requests when requests were batched)
    auth: bool  # whether /v1/translate and /v1/model need the API key
