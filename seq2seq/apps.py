"""What each console script reads: its sections of the typed configuration (seq2seq.config),
composed by Hydra and checked by seq2seq.config_rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from seq2seq.config import (
    DataConfig,
    DecodeConfig,
    ModelConfig,
    ServeConfig,
    TokenizerConfig,
    TrainConfig,
    device_name,
    number,
    one_of,
)


@dataclass
class PrepareApp:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)


@dataclass
class InspectApp:
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    batch_size: int = number(2, lo=1)  # the example batch whose shapes are printed
    src_len: int = number(7, lo=1)
    tgt_len: int = number(5, lo=1)


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
    which: str = one_of("best", "best", "last", "averaged")
    # more models decoding with this one (the mean of their probabilities at each step): run
    # directories (their `which` checkpoint) or checkpoint files, trained with the same tokenizer
    ensemble: list[str] = field(default_factory=list)
    # the checkpoint's model config applies; layout and dropout keys given here override it
    model: ModelConfig = field(default_factory=ModelConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    device: str = device_name()
    threads: int = number(0, lo=0)


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
    max_src_len: int | None = number(None, lo=1)


@dataclass
class ServeApp(FromCheckpoint):
    serve: ServeConfig = field(default_factory=ServeConfig)
    # longest source in subword tokens; longer input is truncated (default: the run's data.max_len)
    max_src_len: int | None = number(None, lo=1)


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
