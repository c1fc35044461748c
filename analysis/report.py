"""What every analysis command shares: where pages go, HTML output, run colours and user-error reporting.

A page lands in the run directory it analyses (``RUN/analysis/NAME.html``) unless ``--out`` says
otherwise, so that pages of different runs never overwrite one another. plotly.js (4.8 MB) is
written once per folder as ``plotly.min.js`` beside the pages, which load it by a relative path:
a page stays light and still opens offline (copy the folder, not the page alone). ``--plotlyjs
inline`` makes a single self-contained file, ``--plotlyjs cdn`` loads plotly.js from its CDN.
``--png`` saves a screenshot of the page taken by headless Chromium (Debian's ``chromium``):
plotly's own exporter (kaleido 1.x) needs a Chrome browser that it downloads by itself, which
offline machines cannot do.
"""

from __future__ import annotations

import argparse
import html
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs

from brain.recording.spec import RecordingError
from brain.training.rundir import RunDirError


class AnalysisError(Exception):
    """Input an analysis cannot use (empty data, an unknown region, ...); printed without a traceback.

    :func:`run_command` prints recording and run-directory errors the same way.
    """


def run_colour(index: int) -> str:
    """The colour of the ``index``-th run, the same in every figure of a page."""
    palette = qualitative.Plotly
    return palette[index % len(palette)]


#: Folder inside a run directory that its pages go to by default.
ANALYSIS_FOLDER = "analysis"
#: How a page gets plotly.js: a shared file beside it (default), inside the page, or from plotly's CDN.
PLOTLYJS_MODES = ("directory", "inline", "cdn")
#: The shared plotly.js file of the ``directory`` mode (the name plotly's ``include_plotlyjs`` expects).
PLOTLYJS_FILE = "plotly.min.js"


def default_page(source: Path, name: str) -> Path:
    """Where a page about ``source`` (a run directory or a file in one) goes without ``--out``.

    ``RUN/analysis/NAME`` for a run directory; beside a file, its stem first unless it is the
    run's ``recording.h5`` (``runs/t13/eval-1-3.h5`` -> ``runs/t13/analysis/eval-1-3-NAME``).

    >>> default_page(Path("runs/t13"), "cells.html").as_posix()
    'runs/t13/analysis/cells.html'
    >>> default_page(Path("runs/t13/eval-1-3.h5"), "cells.html").as_posix()
    'runs/t13/analysis/eval-1-3-cells.html'
    """
    if source.suffix and not source.is_dir():
        prefix = "" if source.stem == "recording" else f"{source.stem}-"
        return source.parent / ANALYSIS_FOLDER / f"{prefix}{name}"
    return source / ANALYSIS_FOLDER / name


def comparison_page(sources: Sequence[Path], name: str) -> Path:
    """Where a page about several runs goes without ``--out``: the first run's folder, named after the others.

    >>> comparison_page([Path("runs/a"), Path("runs/b")], "curves.html").as_posix()
    'runs/a/analysis/curves-vs-b.html'
    """
    stem, suffix = name.rsplit(".", 1)
    others = "-".join(source.resolve().name for source in sources[1:])
    return default_page(sources[0], f"{stem}-vs-{others}.{suffix}" if others else name)


def _share_plotlyjs(folder: Path) -> None:
    """``folder/plotly.min.js`` as this plotly's bundle (rewritten when another plotly wrote it)."""
    bundle, path = get_plotlyjs().encode(), folder / PLOTLYJS_FILE
    if not path.is_file() or path.stat().st_size != len(bundle) or path.read_bytes() != bundle:
        path.write_bytes(bundle)


def write_html(figures: Sequence[go.Figure], out: Path, title: str, plotlyjs: str = "directory") -> Path:
    """Write ``figures`` one below the other into one HTML page getting plotly.js as ``plotlyjs`` says.

    Animations wait for their play button (plotly would start them on load).
    """
    if plotlyjs not in PLOTLYJS_MODES:
        raise ValueError(f"plotlyjs must be one of {', '.join(PLOTLYJS_MODES)}, not {plotlyjs!r}")
    include: str | bool = True if plotlyjs == "inline" else plotlyjs
    parts = [figure.to_html(full_html=False, include_plotlyjs=include if index == 0 else False, auto_play=False)
             for index, figure in enumerate(figures)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if plotlyjs == "directory":
        _share_plotlyjs(out.parent)
    out.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                   f"</head><body>\n{''.join(parts)}\n</body></html>\n")
    return out


def equal_aspect(figure: go.Figure, row: int, col: int) -> None:
    """One unit as long on the y axis as on the x axis of subplot ``(row, col)``: maps and brains keep their shape."""
    anchor = figure.get_subplot(row, col).xaxis.plotly_name.replace("axis", "")
    figure.update_xaxes(constrain="domain", row=row, col=col)
    figure.update_yaxes(scaleanchor=anchor, scaleratio=1, constrain="domain", row=row, col=col)


def colourbar_beside(figure: go.Figure, row: int, col: int) -> dict:
    """A slim colour bar just right of subplot ``(row, col)``, as tall as it: every map gets its own scale."""
    subplot = figure.get_subplot(row, col)
    (_, right), (bottom, top) = subplot.xaxis.domain, subplot.yaxis.domain
    return dict(x=right + 0.004, xanchor="left", y=(bottom + top) / 2, len=top - bottom, thickness=8,
                tickfont=dict(size=8), outlinewidth=0)


#: Characters of table text per line across the page width; pixels of a table row, of each extra line of a
#: wrapped row, of the title band above a table and of the margin below it.
LINE_CHARS, ROW_PX, LINE_PX, TITLE_PX, BOTTOM_PX = 190, 24, 16, 60, 10
#: Pixels of each further line of a table's subtitle.
TITLE_LINE_PX = 22


def _lines(row: Sequence[str], share: Sequence[float]) -> int:
    """Lines the longest-wrapping cell of ``row`` takes, ``share`` being each column's part of the width
    (each ``<br>`` starts a line)."""
    return max(sum(max(1, math.ceil(len(line) / max(LINE_CHARS * part, 1))) for line in cell.split("<br>"))
               for cell, part in zip(row, share))


def table_figure(header: Sequence[str], rows: Sequence[Sequence[str]], title: str,
                 widths: Sequence[float] | None = None) -> go.Figure:
    """A table as tall as its wrapped header and rows, margins sized to it (plotly's 180 px would hide a short one).

    ``widths`` are relative column widths (equal by default); about ``LINE_CHARS`` characters fit
    on a line at full page width.
    """
    widths = list(widths or [1.0] * len(header))
    share = [width / sum(widths) for width in widths]
    columns = [list(column) for column in zip(*rows)] if rows else [[] for _ in header]
    head = _lines(header, share)
    figure = go.Figure(go.Table(columnwidth=widths,
                                header=dict(values=list(header), align="left", height=ROW_PX + LINE_PX * (head - 1)),
                                cells=dict(values=columns, align="left", height=ROW_PX)))
    body = sum(ROW_PX + LINE_PX * (_lines(row, share) - 1) for row in rows)
    top = TITLE_PX + TITLE_LINE_PX * max(0, title.count("<br>") - 1)  # the band holds a title and a subtitle line
    figure.update_layout(title=dict(text=title, yref="container", y=1, yanchor="top", pad=dict(t=12)),
                         height=top + BOTTOM_PX + ROW_PX + LINE_PX * (head - 1) + body + 8,
                         margin=dict(l=20, r=20, t=top, b=BOTTOM_PX))
    return figure


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table for the terminal or a text file: columns left-aligned, two spaces apart.

    >>> print(text_table(["task", "success"], [["1-3", "95%"]]))
    task  success
    1-3   95%
    """
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in [header, *rows])


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


def add_output_arguments(parser: argparse.ArgumentParser, name: str, where: str = "RUN") -> None:
    """``--out`` (default ``WHERE/analysis/NAME``), ``--plotlyjs`` and ``--png``: where and how a page is written."""
    parser.add_argument("--out", type=Path, default=None, metavar="PAGE.html",
                        help=f"HTML page to write (default {where}/{ANALYSIS_FOLDER}/{name})")
    parser.add_argument("--plotlyjs", choices=PLOTLYJS_MODES, default="directory",
                        help=f"directory (default): one shared {PLOTLYJS_FILE} beside the pages, light and offline; "
                             "inline: one self-contained file (+4.8 MB); cdn: plotly.js from the internet")
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
