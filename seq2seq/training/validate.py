"""Validation: teacher-forced loss and perplexity, and BLEU of decoded hypotheses."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from seq2seq.config import DecodeConfig
from seq2seq.data.batching import collate, token_batches
from seq2seq.data.pipeline import Split
from seq2seq.data.tokenizer import Tokenizer
from seq2seq.decoding.translation import settings_from, translate_ids
from seq2seq.evaluation.scoring import bleu
from seq2seq.model.seq2seq import Seq2Seq
from seq2seq.training.loss import token_loss


@dataclass
class Validation:
    nll: float  # mean cross-entropy per target token (no label smoothing)
    ppl: float  # exp(nll)
    bleu: float
    hypotheses: list[str]
    seconds: float


@torch.inference_mode()
def validation_loss(
    model: Seq2Seq,
    split: Split,
    pad_id: int,
    bos: int,
    eos: int,
    max_tokens: int,
    device: torch.device,
) -> float:
    """Mean per-token cross-entropy of the split under teacher forcing."""
    total, tokens = 0.0, 0
    lengths = [len(s) for s in split.src_ids], [len(t) for t in split.tgt_ids]
    for group in token_batches(*lengths, max_tokens=max_tokens, seed=0, epoch=0):
        b = collate(
            [split.src_ids[i] for i in group],
            [split.tgt_ids[i] for i in group],
            group,
            pad_id=pad_id,
            bos_id=bos,
            eos_id=eos,
        ).to(device)
        logits = model(b.src, b.src_lengths, b.tgt_in, positions=b.tgt_out != pad_id).logits
        total += float(token_loss(logits, b.tgt_out, pad_id))
        tokens += int((b.tgt_out != pad_id).sum())
    return total / max(tokens, 1)


def validate(
    model: Seq2Seq,
    split: Split,
    tokenizer: Tokenizer,
    decode: DecodeConfig,
    max_tokens: int,
    device: torch.device,
) -> Validation:
    """Loss, perplexity and BLEU of model on split (model left in the mode it came in)."""
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    sp = tokenizer.special
    loss = validation_loss(model, split, sp.pad, sp.bos, sp.eos, max_tokens, device)
    hyps = translate_ids(
        model,
        split.src_ids,
        settings=settings_from(decode, sp),
        strategy=decode.strategy,
        batch_size=decode.batch_size,
        pad_id=sp.pad,
        device=device,
    )
    text = tokenizer.decode_tgt([h[0].tokens for h in hyps])
    model.train(was_training)
    return Validation(
        nll=loss,
        ppl=math.exp(min(loss, 50.0)),
        bleu=bleu(text, split.tgt_text),
        hypotheses=text,
        seconds=time.perf_counter() - start,
    )
