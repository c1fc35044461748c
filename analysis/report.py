"""What every analysis command shares: standalone HTML output, run colours and user-error reporting.

The pages carry plotly.js inline so that they open anywhere, offline, years later. ``--png``
saves a screenshot of the page taken by headless Chromium (Debian's ``chromium``): plotly's own
exporter (kaleido 1.x) needs a Chrome browser that it downloads by itself, which offline
machines cannot do.
"""

from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from brain.recording.spec import RecordingError
from brain.rundir import RunDirError


class AnalysisError(Exception):
    """Input an analysis cannot use (empty data, an unknown region, ...); printed without a traceback.

    :func:`run_command` prints recording and run-directory errors the same way.
    """


def run_colour(index: int) -> str:
    """The colour of the ``index``-th run, the same in every figure of a page."""
    palette = qualitative.Plotly
    return palette[index % len(palette)]


def write_html(figures: Sequence[go.Figure], out: Path, title: str) -> Path:
    """Write ``figures`` one below the other into one self-contained HTML page.

    Animations wait for their play button (plotly would start them on load).
    """
    parts = [figure.to_html(full_html=False, include_plotlyjs=index == 0, auto_play=False)
             for index, figure in enumerate(figures)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                   f"</head><body>\n{''.join(parts)}\n</body></html>\n")
    return out


def equal_aspect(figure: go.Figure, row: int, col: int) -> None:
    """One unit as long on the y axis as on the x axis of subplot ``(row, col)``: maps and brains keep their shape."""
    anchor = figure.get_subplot(row, col).xaxis.plotly_name.replace("axis", "")
    figure.update_xaxes(constrain="domain", row=row, col=col)
    figure.update_yaxes(scaleanchor=anchor, scaleratio=1, constrain="domain", row=row, col=col)


#: Milliseconds of page time Chromium lets pass (scripts, plotly's drawing) before a screenshot.
SCREENSHOT_TIME_MS = 10_000


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return next((path for path in map(shutil.which, ("chromium", "chromium-browser")) if path), None)


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 1400, timeout: float = 120.0) -> Path:
    """Render ``page`` in headless Chromium at ``width`` x ``height`` into ``png``.

    Plotly draws after the page loads, so Chromium's virtual clock (``--virtual-time-budget``)
    rather than wall time decides when the picture is taken.
    """
    browser = chromium()
    if browser is None:
        raise AnalysisError("--png needs Chromium, which is not installed; install it (Debian: apt-get install "
                            "chromium) or open the HTML page and use plotly's camera button")
    command = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", f"--screenshot={png}",
               f"--window-size={width},{height}", f"--virtual-time-budget={SCREENSHOT_TIME_MS}",
               page.resolve().as_uri()]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise AnalysisError(f"Chromium could not screenshot {page}: {error}") from None
    return png


def add_png_argument(parser: argparse.ArgumentParser) -> None:
    """``--png``: also save a screenshot of the page beside it (``page.png``)."""
    parser.add_argument("--png", action="store_true",
                        help="also save a PNG screenshot beside the HTML page (needs Chromium)")


def run_command(body: Callable[[], str], page: Path, png: bool = False) -> int:
    """Run a command's ``body``; print its message and return 0, or print a user error alone and return 2.

    ``body`` writes the HTML ``page``; with ``png`` (``--png``) a screenshot is saved beside it.
    """
    try:
        message = body()
        if png:
            message += f"\nwrote {screenshot(page, page.with_suffix('.png'))}"
    except (AnalysisError, RecordingError, RunDirError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(message)
    return 0
