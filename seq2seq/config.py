"""Typed configuration: the sections (model, data, tokenizer, decode, train, serve) of the schema
every Hydra config is checked against, with their defaults; `seq2seq.apps` combines them into
what each command reads. Field metadata carries the accepted range or choices, which
`seq2seq.config_rules.validate` checks together with the rules that tie fields to each other."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MULTI30K_URL = ("https://raw.githubusercontent.com/multi30k/dataset/"
                "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw")


def number(default: Any, lo: float | None = None, hi: float | None = None, hi_open: bool = False):
    """A numeric field accepted in [lo, hi] (or [lo, hi) when hi_open)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "hi_open": hi_open})


def one_of(default: str, *choices: str):
    """A string field that accepts only choices."""
    return field(default=default, metadata={"pattern": "|".join(map(re.escape, choices)),
                                            "accepted": ", ".join(choices)})


DEVICES = r"auto|cpu|cuda(:\d+)?"  # a torch device name the commands take
DEVICES_IN_WORDS = "auto, cpu, cuda (or cuda:N)"


def device_name(default: str = "auto"):
    """A device field: auto, cpu, cuda or cuda:N."""
    return field(default=default, metadata={"pattern": DEVICES, "accepted": DEVICES_IN_WORDS})


def _gru(**values: Any):
    return field(default_factory=lambda: GRUConfig(**values))


@dataclass
class GRUConfig:
    """Exactly nn.GRU's constructor arguments."""

    input_size: int = number(256, lo=1)
    hidden_size: int = number(256, lo=1)
    num_layers: int = number(1, lo=1)
    bias: bool = True
    batch_first: bool = True
    dropout: float = number(0.0, lo=0.0, hi=1.0, hi_open=True)
    bidirectional: bool = False


@dataclass
class EncoderConfig:
    # The source embedding width is gru.input_size.
    gru: GRUConfig = _gru(input_size=256, hidden_size=256, num_layers=2, bidirectional=True)
    embed_dropout: float = number(0.1, lo=0.0, hi=1.0, hi_open=True)
    word_dropout: float = number(0.0, lo=0.0, hi=1.0, hi_open=True)  # whole source tokens
    # the source embedding is the target embedding (three-way tying with the decoder's
    # tie_embeddings): a joint tokenizer, gru.input_size = the target embedding width
    tie_embeddings: bool = False


ATTENTIONS = ("bahdanau", "luong_dot", "luong_general")


@dataclass
class DecoderConfig:
    # gru.input_size is the width nn.GRU reads each step: the target embedding width plus
    # the attention context (D*H_enc, bahdanau only) plus the previous attentional vector
    # (H_dec, input_feeding only). The target embedding width is what remains.
    gru: GRUConfig = _gru(input_size=256, hidden_size=256, num_layers=1, bidirectional=False)
    # cgru: the conditional GRU (Nematus): gru reads the embedding, attention its output s'_t,
    # then gru2 reads the context c_t from s'_t (input_size D*H_enc; layers and hidden as gru's)
    type: str = one_of("gru", "gru", "cgru")
    gru2: GRUConfig = _gru(input_size=512, hidden_size=256, num_layers=1, bidirectional=False)
    attention: str = one_of("luong_general", *ATTENTIONS)
    input_feeding: bool = False
    embed_dropout: float = number(0.1, lo=0.0, hi=1.0, hi_open=True)
    word_dropout: float = number(0.0, lo=0.0, hi=1.0, hi_open=True)  # whole target input tokens
    output_dropout: float = number(0.1, lo=0.0, hi=1.0, hi_open=True)
    tie_embeddings: bool = False


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    # linear: decoder h_0 = tanh(W [encoder h_n of every layer and direction]); zero: h_0 = 0.
    bridge: str = one_of("linear", "linear", "zero")


MULTI30K_LANGS = ("en", "de", "fr", "cs")


@dataclass
class DataConfig:
    corpus: str = one_of("multi30k", "multi30k", "files")
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
    limit_train: int | None = number(None, lo=0)
    # validation during training on the first N pairs of data.valid (seq2seq-evaluate and a
    # study's scores after training take the whole split)
    limit_valid: int | None = number(None, lo=0)
    # Filters on training pairs, counted in subword tokens.
    min_len: int = number(1, lo=0)
    max_len: int = number(100, lo=1)
    max_ratio: float = number(3.0, lo=1.0)


@dataclass
class TokenizerConfig:
    model_type: str = one_of("unigram", "unigram", "bpe")
    vocab_size: int = number(8000, lo=1)
    joint: bool = True
    character_coverage: float = number(1.0, lo=0.9, hi=1.0)
    byte_fallback: bool = False
    pad_id: int = number(0, lo=0)
    unk_id: int = number(1, lo=0)
    bos_id: int = number(2, lo=0)
    eos_id: int = number(3, lo=0)
    # subword sampling for training pairs, anew each epoch (alpha 0: off): unigram from the
    # nbest best (-1: all) smoothed by alpha; bpe drops merges at rate alpha (BPE-dropout)
    sampling_alpha: float = number(0.0, lo=0.0, hi=1.0)
    sampling_nbest: int = number(-1, lo=-1)
    # a run directory or checkpoint whose tokenizer to use instead of training one (the settings
    # above but sampling then go unused): a student that can join its teacher's ensemble
    reuse: str = ""


@dataclass
class DecodeConfig:
    strategy: str = one_of("beam", "greedy", "beam")
    beam_size: int = number(5, lo=1)
    # GNMT length penalty alpha: scores are divided by ((5 + len) / 6) ** alpha.
    length_penalty: float = number(1.0, lo=0.0)
    max_len_a: float = number(1.5, lo=0.0)  # at most max_len_a * source length + max_len_b
    max_len_b: int = number(10, lo=1)
    min_len: int = number(0, lo=0)
    n_best: int = number(1, lo=1)
    batch_size: int = number(128, lo=1)
    quantize: str = one_of("none", "none", "int8")
    precision: str = one_of("fp32", "fp32", "bf16", "fp16", "auto")  # auto: measured


@dataclass
class TrainConfig:
    seed: int = 1
    threads: int = number(0, lo=0)  # 0 keeps torch's default
    device: str = device_name()
    # auto: measured (seq2seq.precision); fp16 trains with a gradient scaler
    precision: str = one_of("fp32", "fp32", "bf16", "fp16", "auto")
    tf32: bool = True  # CUDA fp32: matrix products in TF32 (no effect on a CPU)
    max_tokens: int = number(4096, lo=1)
    optimizer: str = one_of("adam", "adam", "adamw")
    lr: float = number(1e-3, lo=0.0)
    weight_decay: float = number(0.0, lo=0.0)
    schedule: str = one_of("plateau", "plateau", "linear", "inverse_sqrt", "constant")
    warmup_steps: int = number(0, lo=0)
    plateau_factor: float = number(0.5, lo=0.0, hi=1.0, hi_open=True)
    plateau_patience: int = number(1, lo=0)
    min_lr: float = number(1e-5, lo=0.0)
    clip_norm: float = number(1.0, lo=0.0)  # 0 disables clipping
    label_smoothing: float = number(0.1, lo=0.0, hi=1.0, hi_open=True)
    accumulate: int = number(1, lo=1)
    teacher_forcing: float = number(1.0, lo=0.0, hi=1.0)
    fast_path: bool = True  # false: the decoder's step loop everywhere (same numbers, slower)
    loss_chunk: int = number(512, lo=0)  # the loss: target tokens at a time (0: whole logits)
    max_steps: int = number(0, lo=0)  # 0: no bound
    max_epochs: int = number(30, lo=0)  # 0: no bound
    max_minutes: float = number(0.0, lo=0.0)  # 0: no bound
    evaluate_after: bool = False  # then score best.pt (val, test) with `decode`: result.json
    valid_every: int = number(0, lo=0)  # 0: validate at epoch ends only
    patience: int = number(5, lo=0)  # validations without improvement; 0 disables
    save_every: int = number(0, lo=0)  # keep a numbered checkpoint every N steps; 0: none
    keep_last: int = number(3, lo=1)
    log_every: int = number(10, lo=1)
    max_nonfinite: int = number(5, lo=1)  # consecutive non-finite losses before aborting
    resume: str | None = None
    tensorboard: bool = False
    progress: bool = True
    backend: str = one_of("auto", "auto", "gloo", "nccl")  # torchrun (auto: nccl with CUDA)
    dist_timeout: int = number(600, lo=1)


@dataclass
class ServeConfig:
    """seq2seq-serve: where it listens, how it batches, what it accepts."""

    host: str = "127.0.0.1"  # loopback only, unless told otherwise
    port: int = number(8000, lo=0, hi=65535)  # 0: any free port (printed at start)
    # dynamic batching: concurrent requests' sentences decoded together, up to this many,
    max_batch_sentences: int = number(64, lo=1)
    max_wait_ms: float = number(10.0, lo=0.0)  # waiting at most this long for more after the first
    max_sentences: int = number(64, lo=1)  # limits on one request
    max_chars: int = number(1000, lo=1)
    max_body_bytes: int = number(1_000_000, lo=1)
    max_beam_size: int = number(20, lo=1)
    # a key callers must send (Authorization: Bearer KEY or X-API-Key; or SEQ2SEQ_API_KEY)
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)  # none: no CORS headers
    log_text: bool = False  # log the sentences of requests (off: only their counts)
