"""A model's anatomy: each GRU's tensors in nn.GRU's terms, the bridge, attention, parameters."""

from __future__ import annotations

from torch import nn

from seq2seq.config import InspectApp, decoder_context_width, decoder_embedding_size
from seq2seq.model.seq2seq import Seq2Seq


def gru_shapes(gru: nn.GRU, N: int, L: int) -> dict[str, tuple[int, ...]]:
    """Shapes of input, h_0, output and h_n as the nn.GRU docs tabulate them (batched input)."""
    D = 2 if gru.bidirectional else 1
    seq = (N, L) if gru.batch_first else (L, N)
    state = (D * gru.num_layers, N, gru.hidden_size)
    return {
        "input": (*seq, gru.input_size),
        "h_0": state,
        "output": (*seq, D * gru.hidden_size),
        "h_n": state,
    }


def _gru_lines(name: str, gru: nn.GRU, N: int, L: int, notes: dict[str, str]) -> list[str]:
    seq = "N, L" if gru.batch_first else "L, N"
    terms = {
        "input": f"({seq}, H_in)",
        "h_0": "(D*num_layers, N, H_out)",
        "output": f"({seq}, D*H_out)",
        "h_n": "(D*num_layers, N, H_out)",
    }
    lines = [f"{name}: {gru}"]
    for key, shape in gru_shapes(gru, N, L).items():
        lines.append(f"  {key:<7}{terms[key]:<26}= {tuple(shape)}  {notes.get(key, '')}".rstrip())
    return lines


def _count(module: nn.Module, seen: set[int]) -> int:
    """Parameters of module not counted before (tied weights count once)."""
    total = 0
    for p in module.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def describe(cfg: InspectApp) -> str:
    """The report that seq2seq-inspect prints."""
    V = cfg.tokenizer.vocab_size
    model = Seq2Seq(cfg.model, src_vocab=V, tgt_vocab=V, pad_id=cfg.tokenizer.pad_id)
    enc, dec = model.encoder.gru, model.decoder.gru
    B, S, T = cfg.batch_size, cfg.src_len, cfg.tgt_len
    D, C = model.encoder.directions, model.encoder.output_size
    E_dec = decoder_embedding_size(cfg.model)
    attn = cfg.model.decoder.attention
    fast = model.decoder.fast_path
    parts = [f"target embedding {E_dec}"]
    if attn == "bahdanau":
        parts.append(f"bahdanau context {C}")
    if cfg.model.decoder.input_feeding:
        parts.append(f"previous attentional vector {dec.hidden_size}")
    out = [f"example batch: N=B={B} sentences, S={S} source and T={T} target tokens, V={V}", ""]
    out += _gru_lines(
        "encoder",
        enc,
        B,
        S,
        {
            "input": "source embeddings, packed by length",
            "h_0": "zeros",
            "output": "padded back to S; zero after each sentence's length",
            "h_n": "each sentence's state after its last real token",
        },
    )
    out.append("")
    if cfg.model.bridge == "linear":
        L_enc, L_dec = enc.num_layers, dec.num_layers
        out.append(
            f"bridge: h_n {(L_enc * D, B, enc.hidden_size)} -> per layer and direction "
            f"{(L_enc, D, B, enc.hidden_size)} -> joined {(B, L_enc * D * enc.hidden_size)} "
            f"-> linear + tanh -> decoder h_0 {(L_dec, B, dec.hidden_size)}"
        )
    else:
        out.append(f"bridge: zero -> decoder h_0 {(dec.num_layers, B, dec.hidden_size)} of zeros")
    out.append("")
    L_dec = T if fast else 1
    how = "one call over all T steps (fast path)" if fast else f"one call per step, {T} calls"
    out += _gru_lines("decoder", dec, B, L_dec, {"input": "", "h_0": "from the bridge"})
    out.append(f"  input_size {dec.input_size} = {' + '.join(parts)}; {how}")
    out.append("")
    q = T if fast else 1
    key_width = C if attn == "luong_dot" else dec.hidden_size
    when = (
        "previous state s_(t-1), before the GRU step"
        if attn == "bahdanau"
        else ("GRU output s_t, after the GRU step")
    )
    out.append(f"attention {attn}: query = {when}")
    out.append(
        f"  query {(B, q, dec.hidden_size)}, keys {(B, S, key_width)} (projected once per "
        f"batch), values {(B, S, C)}, weights {(B, q, S)}, context {(B, q, C)}"
    )
    out.append(
        f"  attentional vector tanh(W_c [s_t; c_t]) {(B, q, dec.hidden_size)} -> logits {(B, q, V)}"
        + (" (output tied to the target embedding)" if cfg.model.decoder.tie_embeddings else "")
    )
    out.append("")
    seen: set[int] = set()
    counts = {
        "encoder embedding": _count(model.encoder.embed, seen),
        "encoder GRU": _count(model.encoder.gru, seen),
        "bridge": _count(model.bridge, seen),
        "decoder embedding": _count(model.decoder.embed, seen),
        "decoder GRU": _count(model.decoder.gru, seen),
        "attention": _count(model.decoder.attention, seen) + _count(model.decoder.combine, seen),
        "output layer": _count(model.decoder.output, seen),
    }
    total = sum(counts.values())
    assert total == sum(p.numel() for p in model.parameters())
    out.append("parameters:")
    out += [f"  {name:<18}{n:>12,}" for name, n in counts.items()]
    out.append(f"  {'total':<18}{total:>12,}")
    assert decoder_context_width(cfg.model) + E_dec == dec.input_size
    return "\n".join(out)
