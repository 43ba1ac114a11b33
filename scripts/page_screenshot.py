"""A screenshot of seq2seq-serve's page translating a few Multi30k validation sentences.

    python scripts/page_screenshot.py RUN_DIR OUT.png [--width 1100] [--sentences 3]

Starts the service for RUN_DIR on a free loopback port, opens the page in Debian's Chromium
(through Playwright), translates, shows the first sentence's attention and saves the page.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
from pathlib import Path

from seq2seq.serving.process import running_server

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("output")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--sentences", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    mirror = Path(os.environ.get("SEQ2SEQ_DATA_MIRROR", "../shared/data/multi30k"))
    val = gzip.decompress((mirror / "val.de.gz").read_bytes()).decode().splitlines()
    with running_server(args.run_dir) as (_, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 800})
        page.goto(url + "/")
        page.wait_for_function("document.getElementById('title').textContent.includes('→')")
        page.fill("#source", "\n".join(val[: args.sentences]))
        page.click("#translate")
        page.wait_for_selector("#heatmap rect")
        page.screenshot(path=args.output, full_page=True)
        browser.close()
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
