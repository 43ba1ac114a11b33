"""A study's plots (PNG, matplotlib): validation BLEU against each swept key, grouped by the
others, and against parameters and training minutes with the Pareto front marked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from seq2seq.study.table import swept_keys

METRIC = ("valid_bleu", "validation BLEU")
COSTS = (("parameters_m", "parameters (millions)", "parameters"),
         ("train_minutes", "training minutes", "minutes"))


def _scored(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("status") == "done" and r.get(METRIC[0]) is not None]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, score) points that no other point beats: none costs no more and
    scores no less, one of the two strictly. Ordered by cost."""
    front = [i for i, (c, s) in enumerate(points)
             if not any(c2 <= c and s2 >= s and (c2, s2) != (c, s) for c2, s2 in points)]
    return sorted(front, key=lambda i: points[i])


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    return fig, fig.add_subplot()


def bleu_by_key(rows: list[dict[str, Any]], key: str):
    """BLEU against key's values, one series per combination of the other swept keys."""
    fig, ax = _figure()
    scored = _scored(rows)
    others = [k for k in swept_keys(rows) if k != key]
    values = list(dict.fromkeys(r[key] for r in scored))
    numeric = all(_number(v) is not None for v in values)
    position = {v: (_number(v) if numeric else i) for i, v in enumerate(values)}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in scored:
        groups.setdefault(", ".join(f"{k}={r[k]}" for k in others) or "all jobs", []).append(r)
    for label, members in groups.items():
        members.sort(key=lambda r: position[r[key]])
        ax.plot([position[r[key]] for r in members], [r[METRIC[0]] for r in members],
                marker="o", linestyle="-" if numeric and len(members) > 1 else "", label=label)
    if not numeric:
        ax.set_xticks(range(len(values)), [str(v) for v in values], rotation=45, ha="right")
    ax.set_xlabel(key)
    ax.set_ylabel(METRIC[1])
    if len(groups) > 1:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def bleu_vs_cost(rows: list[dict[str, Any]], cost: str, label: str):
    """BLEU against a cost, every job a point labelled with its job name, the front a line."""
    fig, ax = _figure()
    scored = [r for r in _scored(rows) if r.get(cost) is not None]
    points = [(float(r[cost]), float(r[METRIC[0]])) for r in scored]
    ax.scatter([p[0] for p in points], [p[1] for p in points], label="job")
    for r, (x, y) in zip(scored, points, strict=True):
        ax.annotate(r["job"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    front = [points[i] for i in pareto_front(points)]
    ax.plot([p[0] for p in front], [p[1] for p in front], color="tab:red", marker="s",
            fillstyle="none", label="Pareto front")
    ax.set_xlabel(label)
    ax.set_ylabel(METRIC[1])
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def write_plots(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """Every plot of the study as out/bleu_vs_*.png; the paths written."""
    figures = [(f"bleu_vs_{_slug(k)}.png", bleu_by_key(rows, k)) for k in swept_keys(rows)]
    figures += [(f"bleu_vs_{name}.png", bleu_vs_cost(rows, cost, label))
                for cost, label, name in COSTS]
    paths = []
    for name, fig in figures:
        fig.savefig(out / name, dpi=110)
        paths.append(out / name)
    return paths
