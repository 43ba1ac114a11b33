"""The assembled model: decoder GRU arguments, layouts, padding invariance, fast path, errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from modelling import PAD, build, model_config, random_batch

from seq2seq.errors import UserError
from seq2seq.model.seq2seq import Seq2Seq

ATTENTION_SETUPS = [
    ("model.decoder.attention=luong_general",),
    ("model.decoder.attention=luong_dot",),
    (
        "model.decoder.attention=luong_general",
        "model.decoder.input_feeding=true",
        "model.decoder.gru.input_size=128",
        "model.decoder.tie_embeddings=false",
    ),
    (
        "model.decoder.attention=bahdanau",
        "model.decoder.gru.input_size=128",
        "model.decoder.tie_embeddings=false",
    ),
    (
        "model.decoder.attention=bahdanau",
        "model.decoder.input_feeding=true",
        "model.decoder.gru.input_size=192",
        "model.decoder.tie_embeddings=false",
    ),
]
DEEP = ("model.encoder.gru.num_layers=2", "model.decoder.gru.num_layers=3")

DECODER_ARGS = {
    "input_size": 80,
    "hidden_size": 48,
    "num_layers": 2,
    "bias": False,
    "batch_first": False,
    "dropout": 0.3,
    "bidirectional": False,
}


@pytest.mark.parametrize("arg,value", DECODER_ARGS.items())
def test_each_decoder_gru_argument_reaches_nn_gru(arg, value):
    extra = ["model.decoder.tie_embeddings=false"]
    if arg == "bidirectional":  # the only value a decoder accepts; true is refused below
        default = build(model_config()).decoder.gru
        assert default.bidirectional is False
    cfg = model_config(f"model.decoder.gru.{arg}={str(value).lower()}", *extra)
    gru = build(cfg).decoder.gru
    assert getattr(gru, arg) == value
    assert {a: getattr(gru, a) for a in DECODER_ARGS} == vars(cfg.decoder.gru)


@pytest.mark.parametrize("setup", ATTENTION_SETUPS)
def test_batch_first_true_and_false_give_the_same_numbers(setup):
    a = build(model_config(*setup, *DEEP))
    b = build(
        model_config(
            *setup,
            *DEEP,
            "model.encoder.gru.batch_first=false",
            "model.decoder.gru.batch_first=false",
        ),
        seed=99,
    )
    b.load_state_dict(a.state_dict())
    src, lengths, tgt = random_batch([5, 3, 6])
    out_a, out_b = a(src, lengths, tgt), b(src, lengths, tgt)
    torch.testing.assert_close(out_a.logits, out_b.logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(out_a.attention, out_b.attention, atol=1e-6, rtol=0)


@pytest.mark.parametrize("setup", ATTENTION_SETUPS)
@pytest.mark.parametrize("batch_first", [True, False])
def test_padding_invariance_of_logits(setup, batch_first):
    bf = str(batch_first).lower()
    model = build(
        model_config(
            *setup,
            *DEEP,
            f"model.encoder.gru.batch_first={bf}",
            f"model.decoder.gru.batch_first={bf}",
        )
    )
    src, lengths, tgt = random_batch([3, 9, 6], T=7)
    batch = model(src, lengths, tgt)
    alone = model(src[:1, :3], lengths[:1], tgt[:1, :4])
    torch.testing.assert_close(batch.logits[:1, :4], alone.logits, atol=1e-5, rtol=0)
    assert batch.attention[0, :, 3:].abs().max() == 0


@pytest.mark.parametrize(
    "setup",
    [
        s
        for s in ATTENTION_SETUPS
        if "input_feeding=true" not in " ".join(s) and "bahdanau" not in " ".join(s)
    ],
)
def test_fast_path_equals_step_loop(setup):
    model = build(model_config(*setup, *DEEP))
    assert model.decoder.fast_path
    src, lengths, tgt = random_batch([5, 8, 2], T=9)
    memory, state = model.encode(src, lengths)
    fast = model.decoder.forward_parallel(tgt, state, memory)
    loop = model.decoder.forward_steps(tgt, state, memory)
    torch.testing.assert_close(fast.logits, loop.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.attention, loop.attention, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.state.hidden, loop.state.hidden, atol=1e-5, rtol=0)


def test_fast_path_only_where_it_is_exact():
    assert not build(model_config(*ATTENTION_SETUPS[2])).decoder.fast_path  # input feeding
    assert not build(model_config(*ATTENTION_SETUPS[3])).decoder.fast_path  # bahdanau


@pytest.mark.parametrize(
    "L_enc,L_dec,H_enc,H_dec,bi",
    [(1, 3, 16, 64, True), (3, 1, 40, 24, True), (2, 2, 16, 64, False), (2, 4, 8, 8, True)],
)
def test_bridge_mismatches_build_and_run(L_enc, L_dec, H_enc, H_dec, bi):
    cfg = model_config(
        f"model.encoder.gru.num_layers={L_enc}",
        f"model.decoder.gru.num_layers={L_dec}",
        f"model.encoder.gru.hidden_size={H_enc}",
        f"model.decoder.gru.hidden_size={H_dec}",
        f"model.encoder.gru.bidirectional={str(bi).lower()}",
        "model.decoder.tie_embeddings=false",
    )
    model = build(cfg)
    src, lengths, tgt = random_batch([4, 2])
    memory, state = model.encode(src, lengths)
    assert state.hidden.shape == (L_dec, 2, H_dec)
    assert model(src, lengths, tgt).logits.shape == (2, 6, 41)


def test_zero_bridge_starts_from_zeros():
    model = build(model_config("model.bridge=zero"))
    src, lengths, _ = random_batch([4, 2])
    assert model.encode(src, lengths)[1].hidden.abs().sum() == 0


def test_tied_output_shares_the_embedding():
    model = build(model_config())
    assert model.decoder.output.weight is model.decoder.embed.weight


TIED3 = ("model.encoder.tie_embeddings=true", "model.encoder.gru.input_size=64")


def test_three_way_tying_shares_one_table_trained_from_both_sides():
    torch.manual_seed(0)
    V = 41
    tied = Seq2Seq(model_config(*TIED3), src_vocab=V, tgt_vocab=V, pad_id=PAD)
    untied = Seq2Seq(model_config(TIED3[1]), src_vocab=V, tgt_vocab=V, pad_id=PAD)
    table = tied.decoder.embed.weight
    assert tied.encoder.embed.weight is table and tied.decoder.output.weight is table
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(untied) - count(tied) == V * 64
    src = torch.tensor([[30, 31, 32]])  # source-only ids: their rows learn through the encoder
    tgt = torch.tensor([[4, 5]])
    tied(src, torch.tensor([3]), tgt).logits.logsumexp(-1).sum().backward()
    assert table.grad[30:33].abs().sum() > 0 and table.grad[33:].abs().sum() > 0
    copy = Seq2Seq(model_config(*TIED3), src_vocab=V, tgt_vocab=V, pad_id=PAD)
    copy.load_state_dict(tied.state_dict())
    assert copy.encoder.embed.weight is copy.decoder.embed.weight
    torch.testing.assert_close(copy.encoder.embed.weight, table)


def test_three_way_tying_needs_a_joint_tokenizer_at_build_time():
    from types import SimpleNamespace

    from seq2seq.checkpoint import build_model

    separate = SimpleNamespace(joint=False, src_vocab_size=41, tgt_vocab_size=41)
    with pytest.raises(UserError, match="model.encoder.tie_embeddings=true: needs one joint"):
        build_model(model_config(*TIED3), separate)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["model.encoder.tie_embeddings=true"],
            "model.encoder.tie_embeddings=true: the source embedding width "
            "(model.encoder.gru.input_size=32) must equal the target embedding width (64",
        ),
        (
            [*TIED3, "tokenizer.joint=false"],
            "model.encoder.tie_embeddings=true: the source and target share one embedding, "
            "which needs tokenizer.joint=true",
        ),
        (
            ["model.decoder.gru.bidirectional=true"],
            "model.decoder.gru.bidirectional=true: the decoder generates left to right",
        ),
        (
            ["model.decoder.gru.hidden_size=48"],
            "model.decoder.tie_embeddings=true: the target embedding width (64",
        ),
        (
            ["model.decoder.attention=bahdanau"],
            "model.decoder.gru.input_size=64: the decoder GRU reads",
        ),
        (
            [
                "model.decoder.attention=luong_dot",
                "model.decoder.gru.hidden_size=48",
                "model.decoder.tie_embeddings=false",
            ],
            "model.decoder.attention=luong_dot: needs encoder",
        ),
    ],
)
def test_model_config_errors(overrides, message):
    with pytest.raises(UserError) as err:
        model_config(*overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_dropout_and_no_bias_behave_as_in_nn_gru():
    cfg = model_config(
        "model.encoder.gru.num_layers=2",
        "model.encoder.gru.dropout=0.5",
        "model.encoder.gru.bias=false",
    )
    model = build(cfg)
    src, lengths, tgt = random_batch([5, 5])
    model.train()
    a, b = model(src, lengths, tgt).logits, model(src, lengths, tgt).logits
    assert not torch.allclose(a, b)  # inter-layer dropout active in training
    model.eval()
    torch.testing.assert_close(model(src, lengths, tgt).logits, model(src, lengths, tgt).logits)
    assert all(gru.bias is False for gru in [model.encoder.gru])
    assert (
        list(itertools.chain(n for n, _ in model.encoder.gru.named_parameters() if "bias" in n))
        == []
    )


@pytest.mark.parametrize("setup", [ATTENTION_SETUPS[0], ATTENTION_SETUPS[3]])
def test_logits_at_positions_equal_the_full_logits_there(setup):
    model = build(model_config(*setup))
    src, lengths, tgt = random_batch([5, 3, 6], T=7)
    positions = torch.rand(tgt.shape, generator=torch.Generator().manual_seed(0)) > 0.3
    full = model(src, lengths, tgt).logits
    picked = model(src, lengths, tgt, positions=positions).logits
    assert picked.shape == (int(positions.sum()), full.shape[-1])
    torch.testing.assert_close(picked, full[positions])


@pytest.mark.parametrize(
    "setup",
    [*ATTENTION_SETUPS, ("model.decoder.type=cgru", "model.decoder.gru2.input_size=64",
                         "model.decoder.gru2.hidden_size=64")],
)
def test_beams_sharing_a_memory_row_step_as_with_the_memory_tiled(setup):
    """Beam search keeps one memory row per sentence for its K beams (Decoder.attend); each
    step equals the step against the memory copied K times."""
    model, K = build(model_config(*setup)), 3
    src, lengths, _ = random_batch([5, 8, 2])
    memory, state = model.encode(src, lengths)
    rows = torch.arange(3).repeat_interleave(K)
    state = state.select(rows)
    tiled_state, tiled = state, memory.select(rows)
    tokens = torch.randint(4, 41, (3 * K,), generator=torch.Generator().manual_seed(2))
    for _ in range(3):
        shared_logp, state, shared_w = model.step_log_probs(tokens, state, memory)
        tiled_logp, tiled_state, tiled_w = model.step_log_probs(tokens, tiled_state, tiled)
        torch.testing.assert_close(shared_logp, tiled_logp, atol=1e-5, rtol=0)
        torch.testing.assert_close(shared_w, tiled_w, atol=1e-6, rtol=0)
        assert shared_w.shape == (3 * K, 8)
        tokens = shared_logp.argmax(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_step_log_probs_into_an_earlier_block_equal_fresh_ones(dtype):
    """A search hands each step the last step's block (Seq2Seq.step_log_probs' out): a block
    that holds R * V is overwritten with the same numbers a fresh one gets, and one too small
    (or not fp32) is left alone."""
    model = build(model_config()).to(dtype).eval()
    src, lengths, _ = random_batch([5, 8, 2, 6])
    memory, state = model.encode(src, lengths)
    tokens = torch.tensor([4, 9, 12, 30])
    with torch.no_grad():
        fresh, _, _ = model.step_log_probs(tokens, state, memory)
        big = torch.full((fresh.numel() + 7,), 123.0)
        into, _, _ = model.step_log_probs(tokens, state, memory, out=big)
        small = torch.full((fresh.numel() - 1,), 123.0)
        beside, _, _ = model.step_log_probs(tokens, state, memory, out=small)
    assert fresh.dtype == into.dtype == torch.float32
    assert into.data_ptr() == big.data_ptr() and torch.equal(into, fresh)
    assert beside.data_ptr() != small.data_ptr() and torch.equal(beside, fresh)
    assert bool((small == 123.0).all()) and bool((big[fresh.numel():] == 123.0).all())
