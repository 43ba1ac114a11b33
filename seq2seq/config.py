"""Typed configuration: the schema every Hydra config is checked against, with its defaults.

Field metadata carries the accepted range or choices; `validate` walks a config object and
raises `UserError` naming the full key, the bad value and what is accepted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from seq2seq.errors import UserError

MULTI30K_URL = (
    "https://raw.githubusercontent.com/multi30k/dataset/"
    "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
)


def _num(default: Any, lo: float | None = None, hi: float | None = None, hi_open: bool = False):
    """A numeric field accepted in [lo, hi] (or [lo, hi) when hi_open)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "hi_open": hi_open})


def _choice(default: str, *choices: str):
    return field(default=default, metadata={"choices": choices})


def _gru(input_size: int, hidden_size: int, num_layers: int, bidirectional: bool):
    return field(
        default_factory=lambda: GRUConfig(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
        )
    )


@dataclass
class GRUConfig:
    """Exactly nn.GRU's constructor arguments."""

    input_size: int = _num(256, lo=1)
    hidden_size: int = _num(256, lo=1)
    num_layers: int = _num(1, lo=1)
    bias: bool = True
    batch_first: bool = True
    dropout: float = _num(0.0, lo=0.0, hi=1.0, hi_open=True)
    bidirectional: bool = False


@dataclass
class EncoderConfig:
    # The source embedding width is gru.input_size.
    gru: GRUConfig = _gru(input_size=256, hidden_size=256, num_layers=2, bidirectional=True)
    embed_dropout: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)


ATTENTIONS = ("bahdanau", "luong_dot", "luong_general")


@dataclass
class DecoderConfig:
    # gru.input_size is the width nn.GRU reads each step: the target embedding width plus
    # the attention context (D*H_enc, bahdanau only) plus the previous attentional vector
    # (H_dec, input_feeding only). The target embedding width is what remains.
    gru: GRUConfig = _gru(input_size=256, hidden_size=256, num_layers=1, bidirectional=False)
    attention: str = _choice("luong_general", *ATTENTIONS)
    input_feeding: bool = False
    embed_dropout: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    output_dropout: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    tie_embeddings: bool = False


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    # linear: decoder h_0 = tanh(W [encoder h_n of every layer and direction]); zero: h_0 = 0.
    bridge: str = _choice("linear", "linear", "zero")


@dataclass
class DataConfig:
    corpus: str = _choice("multi30k", "multi30k", "files")
    src_lang: str = "de"
    tgt_lang: str = "en"
    # Split names (multi30k) or path prefixes (files: PREFIX.LANG or PREFIX.LANG.gz).
    train: str = "train"
    valid: str = "val"
    test: list[str] = field(default_factory=lambda: ["test_2016_flickr"])
    # Folder holding the Multi30k files; the environment variable SEQ2SEQ_DATA_MIRROR also sets it.
    mirror: str | None = None
    url: str = MULTI30K_URL
    cache_dir: str = "data"
    limit_train: int | None = _num(None, lo=0)
    # Filters on training pairs, counted in subword tokens.
    min_len: int = _num(1, lo=0)
    max_len: int = _num(100, lo=1)
    max_ratio: float = _num(3.0, lo=1.0)


@dataclass
class TokenizerConfig:
    model_type: str = _choice("unigram", "unigram", "bpe")
    vocab_size: int = _num(8000, lo=1)
    joint: bool = True
    character_coverage: float = _num(1.0, lo=0.9, hi=1.0)
    byte_fallback: bool = False
    pad_id: int = _num(0, lo=0)
    unk_id: int = _num(1, lo=0)
    bos_id: int = _num(2, lo=0)
    eos_id: int = _num(3, lo=0)


@dataclass
class DecodeConfig:
    strategy: str = _choice("beam", "greedy", "beam")
    beam_size: int = _num(5, lo=1)
    # GNMT length penalty alpha: scores are divided by ((5 + len) / 6) ** alpha.
    length_penalty: float = _num(1.0, lo=0.0)
    # Hypotheses stop at max_len_a * source_length + max_len_b tokens.
    max_len_a: float = _num(1.5, lo=0.0)
    max_len_b: int = _num(10, lo=1)
    min_len: int = _num(0, lo=0)
    n_best: int = _num(1, lo=1)
    batch_size: int = _num(64, lo=1)
    quantize: str = _choice("none", "none", "int8")


@dataclass
class TrainConfig:
    seed: int = 1
    threads: int = _num(0, lo=0)  # 0 keeps torch's default
    device: str = _choice("auto", "auto", "cpu", "cuda")
    precision: str = _choice("fp32", "fp32", "bf16")
    max_tokens: int = _num(4096, lo=1)
    optimizer: str = _choice("adam", "adam", "adamw")
    lr: float = _num(1e-3, lo=0.0)
    weight_decay: float = _num(0.0, lo=0.0)
    schedule: str = _choice("plateau", "plateau", "inverse_sqrt", "constant")
    warmup_steps: int = _num(0, lo=0)
    plateau_factor: float = _num(0.5, lo=0.0, hi=1.0, hi_open=True)
    plateau_patience: int = _num(1, lo=0)
    min_lr: float = _num(1e-5, lo=0.0)
    clip_norm: float = _num(1.0, lo=0.0)  # 0 disables clipping
    label_smoothing: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    accumulate: int = _num(1, lo=1)
    teacher_forcing: float = _num(1.0, lo=0.0, hi=1.0)
    max_steps: int = _num(0, lo=0)  # 0: no bound
    max_epochs: int = _num(30, lo=0)  # 0: no bound
    max_minutes: float = _num(0.0, lo=0.0)  # 0: no bound
    valid_every: int = _num(0, lo=0)  # 0: validate at epoch ends only
    patience: int = _num(5, lo=0)  # validations without improvement; 0 disables
    save_every: int = _num(0, lo=0)  # keep a numbered checkpoint every N steps; 0: none
    keep_last: int = _num(3, lo=1)
    log_every: int = _num(10, lo=1)
    max_nonfinite: int = _num(5, lo=1)  # consecutive non-finite losses before aborting
    resume: str | None = None
    tensorboard: bool = False
    progress: bool = True


@dataclass
class PrepareApp:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)


@dataclass
class InspectApp:
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    # the example batch whose shapes are printed
    batch_size: int = _num(2, lo=1)
    src_len: int = _num(7, lo=1)
    tgt_len: int = _num(5, lo=1)


APP_SCHEMAS: dict[str, type] = {"prepare": PrepareApp, "inspect": InspectApp}


def _check_field(key: str, value: Any, meta: Any) -> None:
    choices = meta.get("choices")
    if choices and value not in choices:
        raise UserError(f"{key}={value!r}: accepted values are {', '.join(choices)}")
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo:
        raise UserError(f"{key}={value}: must be >= {lo}")
    if hi is not None and (value >= hi if meta.get("hi_open") else value > hi):
        bound = f"[{lo}, {hi})" if meta.get("hi_open") else f"[{lo}, {hi}]"
        raise UserError(f"{key}={value}: must be in {bound}")


def _walk(obj: Any, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        key = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _walk(value, key + ".")
        else:
            _check_field(key, value, f.metadata)


def validate(cfg: Any) -> None:
    """Check every field's range or choices, then the cross-field rules of each section."""
    _walk(cfg, "")
    for name, check in _SECTION_CHECKS.items():
        section = getattr(cfg, name, None)
        if section is not None:
            check(section)


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


MULTI30K_LANGS = ("en", "de", "fr", "cs")


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


def decoder_context_width(model: ModelConfig) -> int:
    """Width of what attention feeds into the decoder GRU input besides the embedding."""
    enc = model.encoder.gru
    width = (
        enc.hidden_size * (2 if enc.bidirectional else 1)
        if model.decoder.attention == ("bahdanau")
        else 0
    )
    if model.decoder.input_feeding:
        width += model.decoder.gru.hidden_size
    return width


def decoder_embedding_size(model: ModelConfig) -> int:
    """The target embedding width: the decoder GRU's input_size minus the attention inputs."""
    return model.decoder.gru.input_size - decoder_context_width(model)


def check_model(model: ModelConfig) -> None:
    enc, dec = model.encoder.gru, model.decoder.gru
    if dec.bidirectional:
        raise UserError(
            "model.decoder.gru.bidirectional=true: the decoder generates left to right "
            "and must be unidirectional"
        )
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


def check_decode(decode: DecodeConfig) -> None:
    if decode.n_best > decode.beam_size and decode.strategy == "beam":
        raise UserError(
            f"decode.n_best={decode.n_best}: must not exceed decode.beam_size={decode.beam_size}"
        )
    if decode.strategy == "greedy" and decode.n_best > 1:
        raise UserError(
            f"decode.n_best={decode.n_best}: greedy search gives 1; use decode.strategy=beam"
        )


_SECTION_CHECKS = {
    "data": check_data,
    "tokenizer": check_tokenizer,
    "model": check_model,
    "decode": check_decode,
}
