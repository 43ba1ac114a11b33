"""Typed configuration: the schema every Hydra config is checked against, with its defaults.
Field metadata carries the accepted range or choices, which `seq2seq.config_rules.validate`
checks together with the rules that tie fields to each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MULTI30K_URL = ("https://raw.githubusercontent.com/multi30k/dataset/"
                "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw")


def _num(default: Any, lo: float | None = None, hi: float | None = None, hi_open: bool = False):
    """A numeric field accepted in [lo, hi] (or [lo, hi) when hi_open)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "hi_open": hi_open})


def _choice(default: str, *choices: str):
    return field(default=default, metadata={"choices": choices})


def _gru(**values: Any):
    return field(default_factory=lambda: GRUConfig(**values))


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
    word_dropout: float = _num(0.0, lo=0.0, hi=1.0, hi_open=True)  # whole source tokens
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
    type: str = _choice("gru", "gru", "cgru")
    gru2: GRUConfig = _gru(input_size=512, hidden_size=256, num_layers=1, bidirectional=False)
    attention: str = _choice("luong_general", *ATTENTIONS)
    input_feeding: bool = False
    embed_dropout: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    word_dropout: float = _num(0.0, lo=0.0, hi=1.0, hi_open=True)  # whole target input tokens
    output_dropout: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    tie_embeddings: bool = False


@dataclass
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    # linear: decoder h_0 = tanh(W [encoder h_n of every layer and direction]); zero: h_0 = 0.
    bridge: str = _choice("linear", "linear", "zero")


MULTI30K_LANGS = ("en", "de", "fr", "cs")


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
    # subword sampling for training pairs, anew each epoch (alpha 0: off): unigram from the
    # nbest best (-1: all) smoothed by alpha; bpe drops merges at rate alpha (BPE-dropout)
    sampling_alpha: float = _num(0.0, lo=0.0, hi=1.0)
    sampling_nbest: int = _num(-1, lo=-1)
    # a run directory or checkpoint whose tokenizer to use instead of training one (the settings
    # above but sampling then go unused): a student that can join its teacher's ensemble
    reuse: str = ""


@dataclass
class DecodeConfig:
    strategy: str = _choice("beam", "greedy", "beam")
    beam_size: int = _num(5, lo=1)
    # GNMT length penalty alpha: scores are divided by ((5 + len) / 6) ** alpha.
    length_penalty: float = _num(1.0, lo=0.0)
    max_len_a: float = _num(1.5, lo=0.0)  # at most max_len_a * source length + max_len_b
    max_len_b: int = _num(10, lo=1)
    min_len: int = _num(0, lo=0)
    n_best: int = _num(1, lo=1)
    batch_size: int = _num(64, lo=1)
    quantize: str = _choice("none", "none", "int8")
    precision: str = _choice("fp32", "fp32", "bf16", "fp16", "auto")  # auto: measured


@dataclass
class TrainConfig:
    seed: int = 1
    threads: int = _num(0, lo=0)  # 0 keeps torch's default
    device: str = _choice("auto", "auto", "cpu", "cuda")
    # auto: measured (seq2seq.precision); fp16 trains with a gradient scaler
    precision: str = _choice("fp32", "fp32", "bf16", "fp16", "auto")
    tf32: bool = True  # CUDA fp32: matrix products in TF32 (no effect on a CPU)
    max_tokens: int = _num(4096, lo=1)
    optimizer: str = _choice("adam", "adam", "adamw")
    lr: float = _num(1e-3, lo=0.0)
    weight_decay: float = _num(0.0, lo=0.0)
    schedule: str = _choice("plateau", "plateau", "linear", "inverse_sqrt", "constant")
    warmup_steps: int = _num(0, lo=0)
    plateau_factor: float = _num(0.5, lo=0.0, hi=1.0, hi_open=True)
    plateau_patience: int = _num(1, lo=0)
    min_lr: float = _num(1e-5, lo=0.0)
    clip_norm: float = _num(1.0, lo=0.0)  # 0 disables clipping
    label_smoothing: float = _num(0.1, lo=0.0, hi=1.0, hi_open=True)
    accumulate: int = _num(1, lo=1)
    teacher_forcing: float = _num(1.0, lo=0.0, hi=1.0)
    fast_path: bool = True  # false: the decoder's step loop everywhere (same numbers, slower)
    loss_chunk: int = _num(512, lo=0)  # fp32 loss: target tokens at a time (0: whole logits)
    max_steps: int = _num(0, lo=0)  # 0: no bound
    max_epochs: int = _num(30, lo=0)  # 0: no bound
    max_minutes: float = _num(0.0, lo=0.0)  # 0: no bound
    evaluate_after: bool = False  # then score best.pt (val, test) with `decode`: result.json
    valid_every: int = _num(0, lo=0)  # 0: validate at epoch ends only
    patience: int = _num(5, lo=0)  # validations without improvement; 0 disables
    save_every: int = _num(0, lo=0)  # keep a numbered checkpoint every N steps; 0: none
    keep_last: int = _num(3, lo=1)
    log_every: int = _num(10, lo=1)
    max_nonfinite: int = _num(5, lo=1)  # consecutive non-finite losses before aborting
    resume: str | None = None
    tensorboard: bool = False
    progress: bool = True
    backend: str = _choice("auto", "auto", "gloo", "nccl")  # torchrun (auto: nccl with CUDA)
    dist_timeout: int = _num(600, lo=1)


@dataclass
class ServeConfig:
    """seq2seq-serve: where it listens, how it batches, what it accepts."""

    host: str = "127.0.0.1"  # loopback only, unless told otherwise
    port: int = _num(8000, lo=0, hi=65535)  # 0: any free port (printed at start)
    # dynamic batching: concurrent requests' sentences decoded together, up to this many,
    max_batch_sentences: int = _num(64, lo=1)
    max_wait_ms: float = _num(10.0, lo=0.0)  # waiting at most this long for more after the first
    max_sentences: int = _num(64, lo=1)  # limits on one request
    max_chars: int = _num(1000, lo=1)
    max_body_bytes: int = _num(1_000_000, lo=1)
    max_beam_size: int = _num(20, lo=1)
    # a key callers must send (Authorization: Bearer KEY or X-API-Key; or SEQ2SEQ_API_KEY)
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)  # none: no CORS headers
    log_text: bool = False  # log the sentences of requests (off: only their counts)


@dataclass
class PrepareApp:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)


@dataclass
class InspectApp:
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    batch_size: int = _num(2, lo=1)  # the example batch whose shapes are printed
    src_len: int = _num(7, lo=1)
    tgt_len: int = _num(5, lo=1)


@dataclass
class TrainApp:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # how validation BLEU is decoded
    decode: DecodeConfig = field(default_factory=lambda: DecodeConfig(strategy="greedy"))


@dataclass
class FromCheckpoint:
    """What evaluate and translate share: the model to load and how to decode with it."""

    run_dir: str | None = None  # a run directory (its checkpoints/<which>.pt)
    checkpoint: str | None = None  # or a checkpoint file
    which: str = _choice("best", "best", "last", "averaged")
    # more models decoding with this one (the mean of their probabilities at each step): run
    # directories (their `which` checkpoint) or checkpoint files, trained with the same tokenizer
    ensemble: list[str] = field(default_factory=list)
    # the checkpoint's model config applies; layout and dropout keys given here override it
    model: ModelConfig = field(default_factory=ModelConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    device: str = _choice("auto", "auto", "cpu", "cuda")
    threads: int = _num(0, lo=0)


@dataclass
class EvaluateApp(FromCheckpoint):
    # splits to translate and score; default: the run's data.valid and data.test
    splits: list[str] | None = None
    # where hypotheses and results.json go; default: <run>/eval/<checkpoint>-<strategy>
    output_dir: str | None = None
    data: DataConfig = field(default_factory=DataConfig)  # the run's, changed by keys given here
    progress: bool = True


@dataclass
class TranslateApp(FromCheckpoint):
    input: str | None = None  # files for batch mode; default: standard input and output
    output: str | None = None
    show_scores: bool = False
    show_time: bool = False
    # longest source in subword tokens; longer input is truncated (default: the run's data.max_len)
    max_src_len: int | None = _num(None, lo=1)


@dataclass
class ServeApp(FromCheckpoint):
    serve: ServeConfig = field(default_factory=ServeConfig)
    # longest source in subword tokens; longer input is truncated (default: the run's data.max_len)
    max_src_len: int | None = _num(None, lo=1)


@dataclass
class DistillApp(FromCheckpoint):
    """seq2seq-distill: a teacher (or ensemble) translates its run's training source."""

    output: str | None = None  # PREFIX: writes PREFIX.SRC, PREFIX.TGT and PREFIX.json
    mix_references: bool = False  # also keep each pair with its reference translation
    data: DataConfig = field(default_factory=DataConfig)  # the run's, changed by keys given here
    progress: bool = True


APP_SCHEMAS: dict[str, type] = {
    "prepare": PrepareApp, "inspect": InspectApp, "train": TrainApp, "evaluate": EvaluateApp,
    "translate": TranslateApp, "serve": ServeApp, "distill": DistillApp}
