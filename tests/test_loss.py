"""The chunked training loss: the numbers and gradients of whole-logit cross-entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from modelling import PAD, build, model_config, random_batch

from seq2seq.data.batching import Batch
from seq2seq.training.loss import batch_loss, output_loss, token_loss


def _leaves(N=23, H=6, V=11, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, H, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(V, H, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(V, generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    return x, w, b, torch.randint(0, V, (N,), generator=g)


@pytest.mark.parametrize("chunk_rows", [1, 5, 23, 64])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("bias", [True, False])
def test_output_loss_equals_cross_entropy_with_its_gradients(chunk_rows, smoothing, bias):
    x, w, b, t = _leaves(bias=bias)
    leaves = [v for v in (x, w, b) if v is not None]
    whole = F.cross_entropy(F.linear(x, w, b), t, label_smoothing=smoothing, reduction="sum")
    expected = torch.autograd.grad(whole * 0.37, leaves)  # a scaled loss, as training scales it
    chunked = output_loss(x, w, b, t, smoothing, chunk_rows=chunk_rows)
    got = torch.autograd.grad(chunked * 0.37, leaves)
    assert chunked.dtype == torch.float64
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=1e-10)
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def _batch(seed=1):
    src, lengths, tgt = random_batch([5, 3, 4], T=6, seed=seed)
    tgt_out = torch.cat([tgt[:, 1:], torch.full((3, 1), 3)], dim=1)
    tgt_out[1, 4:] = PAD  # a shorter target: padding the loss must skip
    return Batch(src, lengths, tgt, tgt_out, torch.arange(3))


@pytest.mark.parametrize(
    "overrides",
    [
        (),  # tied embeddings, fast path
        ("model.decoder.attention=bahdanau", "model.decoder.input_feeding=true",
         "model.decoder.gru.input_size=192", "model.decoder.tie_embeddings=false"),  # step loop
    ],
)
def test_a_batch_has_the_same_loss_and_gradients_chunked_or_not(overrides):
    model = build(model_config(*overrides)).double().train()
    batch = _batch()
    grads = []
    for chunk_rows in (0, 5):  # whole logits; chunks of 5 of the 16 target tokens
        model.zero_grad()
        loss = batch_loss(model, batch, PAD, smoothing=0.1, chunk_rows=chunk_rows)
        loss.backward()
        grads.append((loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (plain, plain_grads), (chunked, chunked_grads) = grads
    n_tokens = int((batch.tgt_out != PAD).sum())
    assert n_tokens == 16
    assert chunked == pytest.approx(plain, rel=1e-12)
    assert plain / n_tokens == pytest.approx(3.7, abs=0.2)  # ~ log(41) for an untrained model
    assert plain_grads.keys() == chunked_grads.keys()
    for name, g in plain_grads.items():
        torch.testing.assert_close(chunked_grads[name], g, rtol=1e-9, atol=1e-12, msg=name)


def test_token_loss_ignores_padding():
    logits = torch.randn(2, 3, 5)
    tgt = torch.tensor([[1, 2, PAD], [3, PAD, PAD]])
    picked = logits[tgt != PAD]
    expected = F.cross_entropy(picked, tgt[tgt != PAD], reduction="sum")
    torch.testing.assert_close(token_loss(logits, tgt, PAD), expected)
    torch.testing.assert_close(token_loss(picked, tgt, PAD), expected)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_chunked_loss_works_under_autocast_like_whole_logits(dtype):
    """Under bf16 or fp16 autocast the chunked loss runs its products in that dtype and its
    softmax in fp32, as autocast runs the whole-logit loss: the same numbers within its
    precision."""
    model = build(model_config()).eval()
    batch = _batch()
    got = {}
    variants = [("fp32", 0, False), ("low", 0, True), ("low chunked", 5, True)]
    for name, chunk_rows, low in variants:
        model.zero_grad()
        with torch.autocast("cpu", dtype=dtype, enabled=low):
            loss = batch_loss(model, batch, PAD, smoothing=0.1, chunk_rows=chunk_rows)
        loss.backward()
        got[name] = (loss, {n: p.grad.clone() for n, p in model.named_parameters()})
    loss, grads = got["low chunked"]
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(got["low"][0].item(), rel=5e-3)
    assert loss.item() == pytest.approx(got["fp32"][0].item(), rel=1e-2)
    for name, g in got["fp32"][1].items():
        cosine = F.cosine_similarity(grads[name].flatten(), g.flatten(), dim=0)
        assert cosine > 0.99, (name, float(cosine))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_takes_the_chunked_loss_in_every_precision(precision):
    """train.loss_chunk rows at a time in fp32 and under bf16 autocast alike (whole logits in
    bf16 cost 1.2x the update on a CPU where bf16 pays), and whole logits at loss_chunk=0."""
    from seq2seq.config import TrainConfig
    from seq2seq.training.step import training_loss

    model = build(model_config()).eval()
    losses = {}
    for chunk in (5, 0):
        loss = training_loss(TrainConfig(loss_chunk=chunk), model, _batch(), PAD, precision)
        losses[chunk] = (type(loss.grad_fn).__name__, loss.item())
    assert losses[5][0] == "_ChunkedOutputLossBackward"
    assert losses[0][0] != "_ChunkedOutputLossBackward"
    assert losses[5][1] == pytest.approx(losses[0][1], rel=1e-5 if precision == "fp32" else 5e-3)
