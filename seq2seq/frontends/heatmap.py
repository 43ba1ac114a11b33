"""Attention heatmaps: drawn in the terminal with shade characters, or saved as a PNG."""

from __future__ import annotations

from pathlib import Path

import torch

from seq2seq.errors import UserError

SHADES = " ░▒▓█"


def _label(piece: str) -> str:
    return piece.replace("\u2581", "_")


def render_text(weights: torch.Tensor, src: list[str], tgt: list[str]) -> str:
    """weights (T, S) as rows of target subwords against numbered source columns, each row
    shaded relative to its own largest weight (the full block marks where it looks most)."""
    T, S = weights.shape
    weights = weights / weights.max(dim=1, keepdim=True).values.clamp_min(1e-9)
    width = max(len(_label(p)) for p in tgt)
    header = " " * (width + 1) + "".join(f"{j + 1:<3}"[:3] for j in range(S))
    rows = [header]
    for i in range(T):
        cells = "".join(
            SHADES[min(int(float(w) * len(SHADES)), len(SHADES) - 1)] * 2 + " " for w in weights[i]
        )
        rows.append(f"{_label(tgt[i]):>{width}} {cells}")
    legend = "  ".join(f"{j + 1}:{_label(p)}" for j, p in enumerate(src))
    rows.append(f"source: {legend}")
    return "\n".join(rows)


def save_png(weights: torch.Tensor, src: list[str], tgt: list[str], path: Path) -> None:
    """A labelled heatmap of weights (T, S) written to path (needs the `plot` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserError("saving attention needs matplotlib: pip install 'seq2seq[plot]'") from exc
    T, S = weights.shape
    fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * S + 1.5), max(2.5, 0.4 * T + 1.2)), dpi=100)
    ax.imshow(weights.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S), [_label(p) for p in src], rotation=90)
    ax.set_yticks(range(T), [_label(p) for p in tgt])
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise UserError(f"{path}: cannot write the image ({exc.strerror})") from exc
    finally:
        plt.close(fig)
