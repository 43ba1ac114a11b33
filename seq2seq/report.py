"""`seq2seq-report SWEEP_DIR`: the table of a study (seq2seq-train -m) as Markdown on stdout and
as report.md, report.csv and report.json, with its plots as PNG, in SWEEP_DIR/report/ (or
--out)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seq2seq.cli import fail
from seq2seq.errors import UserError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seq2seq-report", description="Tabulate and plot the jobs of a sweep directory.")
    parser.add_argument("sweep_dir", type=Path, help="the sweep's hydra.sweep.dir")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the files go (default: SWEEP_DIR/report)")
    parser.add_argument("--no-plots", action="store_true", help="write the tables only")
    return parser


def report(sweep_dir: Path, out: Path | None = None, plots: bool = True) -> list[Path]:
    """Write the table and plots; print the Markdown table; return the files written."""
    from seq2seq.study import table

    rows = table.collect(sweep_dir)
    out = Path(out) if out is not None else Path(sweep_dir) / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in (("report.md", table.markdown(rows)), ("report.csv", table.to_csv(rows)),
                           ("report.json", table.to_json(rows))):
            (out / name).write_text(text, encoding="utf-8")
            written.append(out / name)
        if plots:
            written += _plots(rows, out)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the report there ({exc.strerror})") from exc
    sys.stdout.write(table.markdown(rows))
    return written


def _plots(rows: list[dict], out: Path) -> list[Path]:
    try:
        from seq2seq.study.plots import write_plots
        return write_plots(rows, out)
    except ImportError:
        sys.stderr.write("plots skipped: matplotlib is not installed "
                         "(pip install -e \".[sweep]\")\n")
        return []


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        written = report(args.sweep_dir, args.out, plots=not args.no_plots)
    except UserError as exc:
        fail(str(exc))
    sys.stderr.write(f"wrote {len(written)} files to {written[0].parent}\n")


if __name__ == "__main__":
    main()
