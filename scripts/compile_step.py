"""Whether torch.compile pays for the decoder's step loop: the training loop's own update
(Trainer.update, as scripts/benchmark.py times it) with Decoder.step compiled, against the
eager one, interleaved in one process.

    python scripts/compile_step.py [overrides] [--device cpu|cuda] [--threads 2] [--windows 5]
                                   [--steps 6] [--mode default] [--gru-eager]

Overrides are seq2seq-train's (e.g. experiment=joeynmt_reference). The step loop is what
Bahdanau attention or input feeding train with, or any model with train.fast_path=false; on the
fast path there is no per-step function to compile and the script says so. First both
versions score one batch with dropout off and the loss and the largest gradient difference are
printed; then --windows rounds time --steps updates eagerly and then compiled, and the medians
and their ratio are printed. The decoder's nn.GRU is traced into the compiled graph
(torch._dynamo.config.allow_rnn); --gru-eager leaves it to eager PyTorch between two graphs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from benchmark_rows import loop_groups, make_trainer, target_tokens, timed_updates


@contextmanager
def dropout_off(model):
    """model in training mode (cuDNN's GRU backward refuses eval mode) with every dropout
    probability (a module's float `p` or `dropout`, nn.GRU's between layers too) at 0."""
    saved = [(m, name, getattr(m, name)) for m in model.modules() for name in ("p", "dropout")
             if isinstance(getattr(m, name, None), float)]
    for m, name, _ in saved:
        setattr(m, name, 0.0)
    try:
        yield
    finally:
        for m, name, value in saved:
            setattr(m, name, value)


def gradients(trainer, batch) -> tuple[float, dict]:
    """The loss of batch with dropout off and each parameter's gradient."""
    from seq2seq.training.step import training_loss

    model = trainer.state.model
    model.zero_grad(set_to_none=True)
    with dropout_off(model):
        loss = training_loss(trainer.tc, model, batch, trainer.sp.pad, trainer.precision)
        loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), grads


def compare_on_one_batch(trainer, batch, eager, compiled) -> None:
    """Prints the loss and the largest gradient difference of batch, eager against compiled."""
    decoder = trainer.state.model.decoder
    decoder.step = eager
    loss_eager, grads_eager = gradients(trainer, batch)
    decoder.step = compiled
    loss_compiled, grads_compiled = gradients(trainer, batch)
    largest = max(float((grads_eager[n] - g).abs().max()) for n, g in grads_compiled.items())
    print(f"one batch, dropout off: loss eager {loss_eager:.6f}, compiled {loss_compiled:.6f} "
          f"(relative difference {abs(loss_compiled - loss_eager) / abs(loss_eager):.1e}); "
          f"largest gradient difference {largest:.1e} over {len(grads_compiled)} "
          f"parameters (eager: {len(grads_eager)})")


def interleaved_rates(trainer, window, tokens: int, steps: dict,
                      rounds: int) -> dict[str, list[float]]:
    """Target tokens/s (window holds tokens) of the updates over window with each
    Decoder.step of steps in turn, rounds times."""
    decoder = trainer.state.model.decoder
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            decoder.step = step
            rates[name].append(tokens / timed_updates(trainer, window))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--mode", default="default", help="torch.compile's mode")
    parser.add_argument("--gru-eager", action="store_true",
                        help="leave the decoder's nn.GRU out of the compiled graphs")
    args = parser.parse_args()
    import torch

    from seq2seq.errors import UserError

    torch._dynamo.config.allow_rnn = not args.gru_eager
    with tempfile.TemporaryDirectory() as folder:
        try:
            trainer = make_trainer(args.overrides, None, args.threads, args.device, Path(folder))
        except UserError as exc:
            sys.exit(f"error: {exc}")
        if trainer.state.model.decoder.runs_parallel(trainer.tc.teacher_forcing,
                                                      trainer.tc.fast_path):
            sys.exit("error: this model trains on the fast path (no step loop to compile); "
                     "add train.fast_path=false, or use Bahdanau attention or input feeding")
        window = loop_groups(trainer, args.steps)
        eager = trainer.state.model.decoder.step
        gru = "eager nn.GRU" if args.gru_eager else "nn.GRU traced"
        steps = {"eager": eager,
                 f"torch.compile (mode {args.mode}, {gru})":
                 torch.compile(eager, dynamic=True, mode=args.mode)}
        tokens = target_tokens(trainer, window)
        start = time.perf_counter()
        compare_on_one_batch(trainer, window[0][0], *steps.values())
        trainer.state.model.train()
        interleaved_rates(trainer, window, tokens, steps, 1)  # compiles the training graphs
        warm = time.perf_counter() - start
        rates = interleaved_rates(trainer, window, tokens, steps, args.windows)
    print(f"{trainer.precision}, {args.device}, {args.threads} threads; windows of {args.steps} "
          f"updates ({tokens:,} target tokens); compiling and warm-up {warm:.0f} s; overrides: "
          f"{' '.join(args.overrides) or 'none'}")
    print("\n| Decoder.step | target tok/s (median) | windows |\n| --- | ---: | --- |")
    for name, row in rates.items():
        print(f"| {name} | {statistics.median(row):,.0f} | {', '.join(f'{r:,.0f}' for r in row)} |")
    eager_rate, compiled_rate = (statistics.median(row) for row in rates.values())
    print(f"\ncompiled / eager: {compiled_rate / eager_rate:.2f}x")


if __name__ == "__main__":
    main()
