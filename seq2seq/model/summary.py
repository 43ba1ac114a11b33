"""A model's anatomy: each GRU's tensors in nn.GRU's terms, the bridge, attention, parameters."""

from __future__ import annotations

from torch import nn

from seq2seq.apps import InspectApp
from seq2seq.model.seq2seq import Seq2Seq
from seq2seq.model.widths import decoder_context_width, decoder_embedding_size


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


def _bridge_line(cfg: InspectApp, model: Seq2Seq) -> str:
    enc, dec, B, D = model.encoder.gru, model.decoder.gru, cfg.batch_size, model.encoder.directions
    if cfg.model.bridge == "zero":
        return f"bridge: zero -> decoder h_0 {(dec.num_layers, B, dec.hidden_size)} of zeros"
    L_enc, L_dec = enc.num_layers, dec.num_layers
    return (
        f"bridge: h_n {(L_enc * D, B, enc.hidden_size)} -> per layer and direction "
        f"{(L_enc, D, B, enc.hidden_size)} -> joined {(B, L_enc * D * enc.hidden_size)} "
        f"-> linear + tanh -> decoder h_0 {(L_dec, B, dec.hidden_size)}"
    )


def _decoder_lines(cfg: InspectApp, model: Seq2Seq) -> list[str]:
    """The decoder GRU's tensors and what its input_size is made of."""
    dec, T, fast = model.decoder.gru, cfg.tgt_len, model.decoder.fast_path
    E_dec = decoder_embedding_size(cfg.model)
    assert decoder_context_width(cfg.model) + E_dec == dec.input_size
    parts = [f"target embedding {E_dec}"]
    if cfg.model.decoder.attention == "bahdanau":
        parts.append(f"bahdanau context {model.encoder.output_size}")
    if cfg.model.decoder.input_feeding:
        parts.append(f"previous attentional vector {dec.hidden_size}")
    how = "one call over all T steps (fast path)" if fast else f"one call per step, {T} calls"
    cgru = cfg.model.decoder.type == "cgru"
    lines = _gru_lines("decoder" + (" gru (cgru transition 1)" if cgru else ""), dec,
                       cfg.batch_size, T if fast else 1,
                       {"input": "", "h_0": "from the bridge" + (", then gru2's h_n" * cgru)})
    lines.append(f"  input_size {dec.input_size} = {' + '.join(parts)}; {how}")
    if cgru:
        gru2 = model.decoder.gru2
        lines += _gru_lines("decoder gru2 (cgru transition 2)", gru2, cfg.batch_size, 1,
                            {"h_0": "gru's h_n s'_t"})
        lines.append(f"  input_size {gru2.input_size} = attention context c_t "
                     f"{model.encoder.output_size} (attention reads gru's output s'_t)")
    return lines


def _attention_lines(cfg: InspectApp, model: Seq2Seq) -> list[str]:
    attn, dec = cfg.model.decoder.attention, model.decoder.gru
    B, S, C, V = cfg.batch_size, cfg.src_len, model.encoder.output_size, cfg.tokenizer.vocab_size
    q = cfg.tgt_len if model.decoder.fast_path else 1
    key_width = C if attn == "luong_dot" else dec.hidden_size
    when = ("previous state s_(t-1), before the GRU step" if attn == "bahdanau"
            else "GRU output s_t, after the GRU step")
    if cfg.model.decoder.type == "cgru":
        when = "gru's output s'_t, between the two transitions"
    tied = " (output tied to the target embedding)" if cfg.model.decoder.tie_embeddings else ""
    return [
        f"attention {attn}: query = {when}",
        f"  query {(B, q, dec.hidden_size)}, keys {(B, S, key_width)} (projected once per "
        f"batch), values {(B, S, C)}, weights {(B, q, S)}, context {(B, q, C)}",
        f"  attentional vector tanh(W_c [s_t; c_t]) {(B, q, dec.hidden_size)} -> logits "
        f"{(B, q, V)}{tied}",
    ]


def _parameter_lines(model: Seq2Seq) -> list[str]:
    seen: set[int] = set()
    shared = model.encoder.embed.weight is model.decoder.embed.weight
    counts = {
        "shared embedding" if shared else "encoder embedding": _count(model.encoder.embed, seen),
        "encoder GRU": _count(model.encoder.gru, seen),
        "bridge": _count(model.bridge, seen),
        **({} if shared else {"decoder embedding": _count(model.decoder.embed, seen)}),
        "decoder GRU": _count(model.decoder.gru, seen) + (
            _count(model.decoder.gru2, seen) if hasattr(model.decoder, "gru2") else 0),
        "attention": _count(model.decoder.attention, seen) + _count(model.decoder.combine, seen),
        "output layer": _count(model.decoder.output, seen),
    }
    total = sum(counts.values())
    assert total == sum(p.numel() for p in model.parameters())
    lines = ["parameters:"] + [f"  {name:<18}{n:>12,}" for name, n in counts.items()]
    return [*lines, f"  {'total':<18}{total:>12,}"]


def describe(cfg: InspectApp) -> str:
    """The report that seq2seq-inspect prints."""
    V = cfg.tokenizer.vocab_size
    model = Seq2Seq(cfg.model, src_vocab=V, tgt_vocab=V, pad_id=cfg.tokenizer.pad_id)
    B, S, T = cfg.batch_size, cfg.src_len, cfg.tgt_len
    encoder = _gru_lines("encoder", model.encoder.gru, B, S, {
        "input": "source embeddings" + (" (the target embedding table, tied)"
                                         if cfg.model.encoder.tie_embeddings else "")
        + ", packed by length",
        "h_0": "zeros",
        "output": "padded back to S; zero after each sentence's length",
        "h_n": "each sentence's state after its last real token",
    })
    out = [f"example batch: N=B={B} sentences, S={S} source and T={T} target tokens, V={V}", ""]
    out += [*encoder, "", _bridge_line(cfg, model), "", *_decoder_lines(cfg, model), ""]
    out += [*_attention_lines(cfg, model), "", *_parameter_lines(model)]
    return "\n".join(out)
