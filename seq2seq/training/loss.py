"""The training loss: label-smoothed cross-entropy of the output layer, a few rows at a time.

The output projection to the vocabulary is the largest tensor of a step: N target tokens x V
logits, 64 MB for 2,000 tokens and 8,000 subwords, and the usual loss makes several of them
(logits, log-probabilities, their gradients). On a CPU each is freshly allocated and paged in,
and walking through them costs about a tenth of a step. `output_loss` instead projects, scores
and differentiates `chunk_rows` rows at a time, so each (chunk_rows, V) block is made once and
reused while it is in cache; the gradients of the features, weight and bias are computed in the
forward pass and only scaled in the backward pass. The numbers are those of
`F.cross_entropy(F.linear(x, weight, bias), targets, label_smoothing=s, reduction="sum")`;
under autocast the products run in autocast's dtype and the softmax in fp32, as autocast
would run them.
"""

from __future__ import annotations

import math
import threading

import torch
import torch.nn.functional as F
from torch import nn

from seq2seq.data.batching import Batch
from seq2seq.model.decoder import DecoderOutput

CHUNK_ROWS = 512


def token_loss(logits: torch.Tensor, tgt_out: torch.Tensor, pad_id: int, smoothing: float = 0.0):
    """Summed cross-entropy of logits (B, T, V) against tgt_out (B, T), padding ignored; or of
    logits (N, V) against the N real target tokens tgt_out[tgt_out != pad_id]."""
    if logits.dim() == 2:
        tgt_out = tgt_out[tgt_out != pad_id]
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        tgt_out.reshape(-1),
        ignore_index=pad_id,
        label_smoothing=smoothing,
        reduction="sum",
    )


class _Scratch(threading.local):
    """Blocks of memory the chunked loss reuses from one call to the next, a set per thread.

    On a CPU every fresh block is paged in at its first write, and on a virtual machine that
    returns freed pages to its host each page costs microseconds: the loss's blocks, made anew
    each update, took a tenth of a bf16 update at the reference size. CUDA's caching allocator
    already reuses memory, so there the blocks are plain allocations."""

    def __init__(self):
        self.blocks: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype,
            device: torch.device) -> torch.Tensor:
        """An uninitialised tensor of shape and dtype, from the block called name."""
        if device.type != "cpu":
            return torch.empty(shape, dtype=dtype, device=device)
        n = math.prod(shape)
        block = self.blocks.get(name)
        if block is None or block.numel() < n or block.dtype != dtype:
            block = self.blocks[name] = torch.empty(n + n // 4, dtype=dtype)  # room to grow
        return block[:n].view(shape)


_SCRATCH = _Scratch()


def _project(x, weight, bias, out):
    """x (n, H) @ weight.T (H, V) + bias (V,) into out (n, V)."""
    if bias is None:
        return torch.mm(x, weight.t(), out=out)
    return torch.addmm(bias, x, weight.t(), out=out)


def _chunks(x, weight, bias, targets, smoothing: float, chunk_rows: int, low):
    """The summed loss (float64) and the gradients of x, weight and bias, chunk_rows rows at a
    time; with low (autocast's dtype) the products run in low, the softmax in fp32.

    In low, the logits' gradients of all chunks are kept (N, V) in low and the weight's gradient
    is one product over all rows at the end: summing a low product per chunk into the fp32
    gradient would convert and add a whole (V, H) block per chunk (8% of a bf16 update)."""
    V = weight.shape[0]
    grad_x = torch.empty_like(x)
    grad_w = torch.zeros_like(weight) if low is None else None
    N, H = x.shape
    grad_logits = None if low is None else _SCRATCH.get("grad_logits", (N, V), low, x.device)
    grad_b = None if bias is None else torch.zeros_like(bias)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    # the products' inputs, converted once
    xs = x if low is None else _SCRATCH.get("x", (N, H), low, x.device).copy_(x)
    w = weight if low is None else _SCRATCH.get("weight", (V, H), low, x.device).copy_(weight)
    b = bias if bias is None or low is None else bias.to(low)
    # two (chunk_rows, V) blocks that every chunk reuses: fresh ones cost page faults each time
    rows_max = min(chunk_rows, N)
    dtype = x.dtype if low is None else torch.float32
    logits_buf = _SCRATCH.get("logits", (rows_max, V), dtype, x.device)
    logp_buf = _SCRATCH.get("logp", (rows_max, V), dtype, x.device)
    for start in range(0, N, chunk_rows):
        rows = slice(start, start + chunk_rows)
        xc, tc = xs[rows], targets[rows].unsqueeze(1)
        n = xc.shape[0]
        if low is None:
            logits = _project(xc, w, b, logits_buf[:n])
        else:  # the product in low, then its logits in fp32 for the softmax
            logits = logits_buf[:n].copy_(F.linear(xc, w, b))
        logp = torch.log_softmax(logits, dim=-1, out=logp_buf[:n])  # (n, V)
        nll = -logp.gather(1, tc).sum()
        uniform = -logp.sum() / V
        total += ((1.0 - smoothing) * nll + smoothing * uniform).double()
        # d loss / d logits = softmax - (1 - s) * one_hot(target) - s / V
        grad = logp.exp_().sub_(smoothing / V)
        grad.scatter_add_(1, tc, grad.new_full(tc.shape, smoothing - 1.0))
        if low is None:
            torch.mm(grad, weight, out=grad_x[rows])
            grad_w.addmm_(grad.t(), xc)
        else:
            g = grad_logits[rows].copy_(grad)
            grad_x[rows] = torch.mm(g, w)
        if grad_b is not None:
            grad_b += grad.sum(0)
    if low is not None:
        grad_w = torch.mm(grad_logits.t(), xs).to(weight.dtype)
    return total, grad_x, grad_w, grad_b


class _ChunkedOutputLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, targets, smoothing: float, chunk_rows: int):
        device = x.device.type
        low = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        with torch.autocast(device, enabled=False):
            total, grad_x, grad_w, grad_b = _chunks(x, weight, bias, targets, smoothing,
                                                    chunk_rows, low)
        ctx.has_bias = bias is not None
        ctx.save_for_backward(grad_x, grad_w, grad_b if grad_b is not None else grad_w.new_empty(0))
        return total.to(x.dtype if low is None else torch.float32)

    @staticmethod
    def backward(ctx, g):
        grad_x, grad_w, grad_b = ctx.saved_tensors
        return ((grad_x * g).to(grad_x.dtype), grad_w * g, grad_b * g if ctx.has_bias else None,
                None, None, None)


def output_loss(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    smoothing: float = 0.0,
    chunk_rows: int = CHUNK_ROWS,
) -> torch.Tensor:
    """Summed label-smoothed cross-entropy of the logits x @ weight.T + bias against targets:
    x (N, H), weight (V, H), bias (V,) or None, targets (N,) -> (), differentiable in x, weight
    and bias."""
    return _ChunkedOutputLoss.apply(x, weight, bias, targets, smoothing, chunk_rows)


def decoder_loss(out: DecoderOutput, output: nn.Linear, tgt_out: torch.Tensor, pad_id: int,
                 smoothing: float, chunk_rows: int = CHUNK_ROWS) -> torch.Tensor:
    """The summed loss of a teacher-forced DecoderOutput at the real target tokens: from its
    features a chunk at a time if it has them (project=False), else from its logits."""
    if out.features is None:
        return token_loss(out.logits, tgt_out, pad_id, smoothing)
    return output_loss(out.features, output.weight, output.bias, tgt_out[tgt_out != pad_id],
                       smoothing, chunk_rows)


def batch_loss(
    net: nn.Module,
    batch: Batch,
    pad_id: int,
    smoothing: float,
    teacher_forcing: float = 1.0,
    chunk_rows: int = CHUNK_ROWS,
    fast_path: bool = True,
) -> torch.Tensor:
    """The summed training loss of a batch over its real target tokens. net is the Seq2Seq model
    or its DistributedDataParallel wrapper; chunk_rows=0 takes the plain path through whole
    logits; fast_path=False runs the decoder's step loop even where the fast path applies (same
    numbers)."""
    out = net(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing,
              positions=batch.tgt_out != pad_id, project=not chunk_rows, fast_path=fast_path)
    output = getattr(net, "module", net).decoder.output
    return decoder_loss(out, output, batch.tgt_out, pad_id, smoothing, chunk_rows or CHUNK_ROWS)
