"""What every analysis command shares: standalone HTML output, run colours and user-error reporting.

The pages carry plotly.js inline so that they open anywhere, offline, years later. PNG export
is not offered: plotly's exporter (kaleido 1.x) needs a Chrome browser that it downloads on
its own, which these machines cannot do.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path
from typing import Callable, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from brain.rundir import RunDirError


class AnalysisError(Exception):
    """Input an analysis cannot use (empty data, an unknown region, ...); printed without a traceback."""


def run_colour(index: int) -> str:
    """The colour of the ``index``-th run, the same in every figure of a page."""
    palette = qualitative.Plotly
    return palette[index % len(palette)]


def write_html(figures: Sequence[go.Figure], out: Path, title: str) -> Path:
    """Write ``figures`` one below the other into one self-contained HTML page."""
    parts = [figure.to_html(full_html=False, include_plotlyjs=index == 0) for index, figure in enumerate(figures)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                   f"</head><body>\n{''.join(parts)}\n</body></html>\n")
    return out


def run_command(body: Callable[[], str]) -> int:
    """Run a command's ``body``; print its message and return 0, or print a user error alone and return 2."""
    try:
        message = body()
    except (AnalysisError, RunDirError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(message)
    return 0


def positive_int(text: str) -> int:
    """argparse type for counts such as ``--window`` (argparse turns the error into exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
