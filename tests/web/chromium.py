"""How the browser tests (and scripts/screenshots.py) start Chromium (no Django).

Debian's package, installed by scripts/test.sh; Playwright never downloads a
browser. The flags keep it quiet: no sandbox (containers), no GPU, no QUIC,
and no background traffic to Google's update, sync or component servers.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
