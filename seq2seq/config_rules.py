"""Config rules: every field's own rules (seq2seq/config_fields.py), then those that tie fields
together; a broken rule raises UserError naming the key, value and remedy."""

from __future__ import annotations

import dataclasses
from typing import Any

from seq2seq.apps import EvaluateApp, TrainApp
from seq2seq.config import (
    MULTI30K_LANGS,
    DataConfig,
    DecodeConfig,
    ModelConfig,
    TokenizerConfig,
    TrainConfig,
)
from seq2seq.config_fields import check_fields, check_kind
from seq2seq.errors import UserError
from seq2seq.model.widths import decoder_context_width, decoder_embedding_size


def validate(cfg: Any) -> None:
    """Check every field's range or choices, then the cross-field rules of each section."""
    check_fields(cfg, "")
    for name, check in _SECTION_CHECKS.items():
        section = getattr(cfg, name, None)
        if section is not None:
            check(section)
    model, tokenizer = getattr(cfg, "model", None), getattr(cfg, "tokenizer", None)
    if model and tokenizer and model.encoder.tie_embeddings and not tokenizer.joint:
        raise UserError("model.encoder.tie_embeddings=true: the source and target share one "
                        "embedding, which needs tokenizer.joint=true")
    if isinstance(cfg, TrainApp):
        for key, value in (("quantize", "none"), ("precision", "fp32")):
            if getattr(cfg.decode, key) != value:
                raise UserError(
                    f"decode.{key}={getattr(cfg.decode, key)}: seq2seq-train validates in the "
                    f"training precision (train.precision); decode.{key} is for "
                    "seq2seq-evaluate, seq2seq-translate and seq2seq-serve")
    if isinstance(cfg, EvaluateApp) and cfg.splits == []:
        raise UserError("splits=[]: name at least one split, e.g. splits=[test_2016_flickr], or "
                        "leave splits out to score the run's validation and test splits")


def check_tokenizer(tok: TokenizerConfig) -> None:
    ids = {"pad_id": tok.pad_id, "unk_id": tok.unk_id, "bos_id": tok.bos_id, "eos_id": tok.eos_id}
    if len(set(ids.values())) != len(ids):
        raise UserError(f"tokenizer special ids {ids}: the four ids must be distinct")
    if tok.vocab_size <= len(ids):
        raise UserError(
            f"tokenizer.vocab_size={tok.vocab_size}: must exceed the {len(ids)} special tokens"
        )
    for name, value in ids.items():
        if value >= tok.vocab_size:
            raise UserError(
                f"tokenizer.{name}={value}: must be below tokenizer.vocab_size={tok.vocab_size}"
            )
    if tok.sampling_alpha and tok.model_type == "unigram" and tok.sampling_nbest in (0, 1):
        raise UserError(f"tokenizer.sampling_nbest={tok.sampling_nbest}: unigram sampling needs "
                        "-1 (all segmentations) or more than 1 (the n best)")


def check_data(data: DataConfig) -> None:
    if data.src_lang == data.tgt_lang:
        raise UserError(f"data.tgt_lang={data.tgt_lang!r}: must differ from data.src_lang")
    if data.corpus == "multi30k":
        for key in ("src_lang", "tgt_lang"):
            lang = getattr(data, key)
            if lang not in MULTI30K_LANGS:
                raise UserError(f"data.{key}={lang!r}: Multi30k has {', '.join(MULTI30K_LANGS)}")
    if data.min_len > data.max_len:
        raise UserError(f"data.min_len={data.min_len}: must not exceed data.max_len={data.max_len}")


def check_model(model: ModelConfig) -> None:
    enc, dec = model.encoder.gru, model.decoder.gru
    if dec.bidirectional:
        raise UserError(
            "model.decoder.gru.bidirectional=true: the decoder generates left to right "
            "and must be unidirectional"
        )
    if model.decoder.type == "cgru":
        check_cgru(model)
    context = decoder_context_width(model)
    if decoder_embedding_size(model) < 1:
        parts = ["the target embedding"]
        if model.decoder.attention == "bahdanau":
            parts.append(
                f"the bahdanau context ({enc.hidden_size * (2 if enc.bidirectional else 1)})"
            )
        if model.decoder.input_feeding:
            parts.append(f"the fed attentional vector ({dec.hidden_size})")
        raise UserError(
            f"model.decoder.gru.input_size={dec.input_size}: the decoder GRU reads "
            f"{' + '.join(parts)}, so input_size must exceed {context} "
            f"(e.g. {context + 256} for 256-wide target embeddings)"
        )
    enc_width = enc.hidden_size * (2 if enc.bidirectional else 1)
    if model.decoder.attention == "luong_dot" and enc_width != dec.hidden_size:
        raise UserError(
            f"model.decoder.attention=luong_dot: needs encoder output width (D*H_enc = "
            f"{enc_width}) equal to model.decoder.gru.hidden_size={dec.hidden_size}; "
            "use luong_general or bahdanau, or change the sizes"
        )
    emb = decoder_embedding_size(model)
    if model.decoder.tie_embeddings and emb != dec.hidden_size:
        raise UserError(
            f"model.decoder.tie_embeddings=true: the target embedding width ({emb} = "
            f"model.decoder.gru.input_size - {context}) must equal "
            f"model.decoder.gru.hidden_size={dec.hidden_size}"
        )
    if model.encoder.tie_embeddings and enc.input_size != emb:
        raise UserError(
            f"model.encoder.tie_embeddings=true: the source embedding width "
            f"(model.encoder.gru.input_size={enc.input_size}) must equal the target embedding "
            f"width ({emb} = model.decoder.gru.input_size - {context})")


def check_cgru(model: ModelConfig) -> None:
    """gru2 continues gru's state with the attention context: same layers and width."""
    enc, dec, dec2 = model.encoder.gru, model.decoder.gru, model.decoder.gru2
    need = {"input_size": enc.hidden_size * (2 if enc.bidirectional else 1),
            "hidden_size": dec.hidden_size, "num_layers": dec.num_layers, "bidirectional": False}
    why = {"input_size": "the attention context width D*H_enc",
           "hidden_size": "model.decoder.gru.hidden_size", "num_layers":
           "model.decoder.gru.num_layers", "bidirectional": "a decoder reads left to right"}
    for key, value in need.items():
        if getattr(dec2, key) != value:
            raise UserError(f"model.decoder.gru2.{key}={getattr(dec2, key)}: the cgru decoder "
                            f"needs {value} ({why[key]})")
    if model.decoder.input_feeding:
        raise UserError("model.decoder.input_feeding=true: the cgru decoder feeds the context "
                        "through gru2; set input_feeding=false")


def check_decode(decode: DecodeConfig) -> None:
    if decode.n_best > decode.beam_size and decode.strategy == "beam":
        raise UserError(
            f"decode.n_best={decode.n_best}: must not exceed decode.beam_size={decode.beam_size}"
        )
    if decode.strategy == "greedy" and decode.n_best > 1:
        raise UserError(
            f"decode.n_best={decode.n_best}: greedy search gives 1; use decode.strategy=beam"
        )


def check_decode_config(decode: DecodeConfig) -> None:
    """Every decode field's type, range or choices, then check_decode (for decode settings made
    in code: the Python API, the HTTP service)."""
    for f in dataclasses.fields(decode):
        check_kind(DecodeConfig, f.name, getattr(decode, f.name), "decode.")
    check_fields(decode, "decode.")
    check_decode(decode)


def check_train(train: TrainConfig) -> None:
    if train.warmup_steps and train.schedule in ("plateau", "constant"):
        raise UserError(
            f"train.warmup_steps={train.warmup_steps}: train.schedule={train.schedule} has no "
            "warm-up; use train.schedule=linear or inverse_sqrt, or train.warmup_steps=0"
        )
    if train.schedule == "inverse_sqrt" and train.warmup_steps < 1:
        raise UserError(
            f"train.warmup_steps={train.warmup_steps}: train.schedule=inverse_sqrt needs >= 1"
        )
    budget = train.max_steps or train.max_minutes or train.max_epochs
    if train.schedule == "linear" and not budget:
        raise UserError(
            "train.schedule=linear: needs a budget to decay over; set train.max_steps, "
            "train.max_minutes or train.max_epochs above 0"
        )


_SECTION_CHECKS = {
    "train": check_train,
    "data": check_data,
    "tokenizer": check_tokenizer,
    "model": check_model,
    "decode": check_decode,
}
