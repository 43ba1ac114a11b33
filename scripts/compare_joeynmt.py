"""Training speed against Joey NMT on this CPU, side by side in one run: Joey NMT's recurrent
model at its GRU reference size and ours (experiment=joeynmt_reference), on the same Multi30k
pairs, the same joint 8k sentencepiece model and token batches of about the same size.

    python -m venv --system-site-packages /tmp/joey && /tmp/joey/bin/pip install joeynmt==2.3.0 \
        importlib_metadata sentencepiece==0.2.0
    python scripts/compare_joeynmt.py --joey-python /tmp/joey/bin/python [--pairs 8000]
                                      [--threads 2] [--windows 5]

Joey NMT 2.3.0 imports importlib_metadata without requiring it and calls
SentencePieceProcessor.SetVocabulary, which sentencepiece 0.2.3 no longer has; the venv's own
sentencepiece 0.2.0 leaves ours untouched.

Joey NMT trains for one epoch over the first --pairs training pairs and logs its own "Tokens
per Sec" (target tokens) every 10 updates; its median after the first two logs is its figure.
Ours is scripts/benchmark.py's training row (the loop's own update, median of --windows
windows), fp32 step loop and then `train.precision=auto`. Joey NMT runs in its own virtual
environment, so it is no dependency of ours.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmark import isolated
from benchmark_rows import measure_train

OURS = ["experiment=joeynmt_reference"]
JOEY_CONFIG = """\
name: reference
joeynmt_version: 2.3.0
data:
  train: {data}/train
  dev: {data}/dev
  dataset_type: plain
  sample_train_subset: -1
  special_symbols: {{unk_token: "<unk>", unk_id: 0, pad_token: "<pad>", pad_id: 1,
                    bos_token: "<s>", bos_id: 2, eos_token: "</s>", eos_id: 3}}
  src: &side
    lang: de
    level: bpe
    tokenizer_type: sentencepiece
    tokenizer_cfg: {{model_file: {spm}}}
    voc_file: {data}/vocab.txt
    max_length: 100
  trg:
    <<: *side
    lang: en
training:
  random_seed: 1
  optimizer: adam
  learning_rate: 0.001
  scheduling: decaying   # steps at epoch ends only (its plateau breaks on torch 2.13)
  batch_size: {max_tokens}
  batch_type: token
  epochs: 1
  logging_freq: 10
  validation_freq: 1000000
  model_dir: {data}/model
  overwrite: true
  use_cuda: false
  num_workers: 0
  print_valid_sents: []
testing:
  beam_size: 1
  eval_metrics: [bleu]
model:
  initializer: xavier_uniform
  encoder:
    type: recurrent
    rnn_type: gru
    embeddings: {{embedding_dim: 256}}
    hidden_size: 256
    bidirectional: true
    num_layers: 2
    dropout: 0.2
  decoder:
    type: recurrent
    rnn_type: gru
    embeddings: {{embedding_dim: 256}}
    hidden_size: 512
    num_layers: 2
    attention: bahdanau
    input_feeding: true
    init_hidden: bridge
    dropout: 0.2
    hidden_dropout: 0.2
"""


def _write_joey_data(folder: Path, pairs: int) -> tuple[Path, int]:
    """Our de-en training pairs (the first `pairs`), val, the tokenizer's vocabulary as Joey NMT
    reads it; returns the sentencepiece model and our batch size in tokens."""
    from seq2seq.composition import compose
    from seq2seq.data.pipeline import prepare, read_split_text

    cfg = compose("train", OURS)
    prepared = prepare(cfg.data, cfg.tokenizer, None)
    for split, name in ((cfg.data.train, "train"), (cfg.data.valid, "dev")):
        src, tgt = read_split_text(cfg.data, split, limit=pairs if name == "train" else 200)
        (folder / f"{name}.de").write_text("".join(s + "\n" for s in src))
        (folder / f"{name}.en").write_text("".join(t + "\n" for t in tgt))
    tokenizer = prepared.tokenizer
    tokenizer.save(folder)  # joint.model
    pieces = tokenizer.src_pieces(list(range(tokenizer.src_vocab_size)))
    specials = {"<unk>", "<pad>", "<s>", "</s>"}
    (folder / "vocab.txt").write_text("".join(p + "\n" for p in pieces if p not in specials))
    return folder / "joint.model", cfg.train.max_tokens


def joey_tokens_per_s(python: str, pairs: int, threads: int) -> tuple[float, list[float], float]:
    """Joey NMT's median logged target tokens/s (after its first two logs), every log's, and
    its target tokens per update (about ours: its token batches count source and target)."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        spm, max_tokens = _write_joey_data(data, pairs)
        config = data / "reference.yaml"
        config.write_text(JOEY_CONFIG.format(data=data, spm=spm, max_tokens=2 * max_tokens))
        proc = subprocess.run(  # noqa: S603
            [python, "-c", f"import torch; torch.set_num_threads({threads}); "
             "import sys; from joeynmt.__main__ import main; sys.argv = ['joeynmt', 'train', "
             f"'{config}', '--skip-test']; main()"], capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    rates = [float(m) for m in re.findall(r"Tokens per Sec:\s+([0-9.]+)", log)]
    steps = re.findall(r"Step:\s+([0-9]+)", log)
    tokens = re.findall(r"num\. of tokens: ([0-9]+)", log)
    if proc.returncode != 0 or len(rates) < 3 or not tokens:
        tail = log.strip().splitlines()[-3:]
        sys.exit(f"error: Joey NMT did not train ({len(rates)} speed logs): " + " | ".join(tail))
    per_update = int(tokens[-1]) / int(steps[-1])
    return statistics.median(rates[2:]), rates, per_update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joey-python", required=True,
                        help="the python of a virtual environment with joeynmt installed")
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--windows", type=int, default=5)
    args = parser.parse_args()
    import torch

    from seq2seq.precision import machine

    print(f"machine: {machine(torch.device('cpu'), args.threads)}")
    joey, logs, per_update = joey_tokens_per_s(args.joey_python, args.pairs, args.threads)
    print(f"Joey NMT 2.3.0 (GRU reference size, {args.pairs} pairs, one epoch, {per_update:,.0f} "
          f"target tokens an update): {joey:,.0f} target tok/s (median of its logs after the "
          f"first two: {', '.join(f'{r:.0f}' for r in logs)})")
    for name, own in (("fp32 step loop", ["train.precision=fp32", "train.fast_path=false"]),
                      ("auto", ["train.precision=auto", "train.fast_path=false"])):
        row = isolated(measure_train, [*OURS, *own], None, args.windows, 4, args.threads, "cpu")
        print(f"ours, {name} ({row['precision']}, {row['tgt_tokens_per_update']:,.0f} target "
              f"tokens an update): {row['tgt_tok_s']:,.0f} target tok/s, "
              f"{row['tgt_tok_s'] / joey:.2f}x Joey NMT")


if __name__ == "__main__":
    main()
