"""argparse value types shared by the command lines (``brain.run``, ``brain.evaluate``, ``analysis.*``).

A value that does not parse or is out of range raises ``argparse.ArgumentTypeError``, which
argparse prints as one line naming the flag (``argument --workers: must be at least 1, got 0``)
before exiting with code 2.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable, Sequence


def number(kind: type = float, low: float = -math.inf, high: float = math.inf,
           low_inclusive: bool = True) -> Callable[[str], float]:
    """A ``kind`` (int or float) in ``[low, high]``, or ``(low, high]`` with ``low_inclusive=False``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if (value < low if low_inclusive else value <= low) or value > high:
            if high == math.inf:
                bound = f"at least {low:g}" if low_inclusive else f"greater than {low:g}"
                raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
            opening = "[" if low_inclusive else "("
            raise argparse.ArgumentTypeError(f"must be in {opening}{low:g}, {high:g}], got {text}")
        return value

    return parse


def name_list(text: str) -> list[str]:
    """``"ca1, ca3"`` -> ``["ca1", "ca3"]``; the names are checked against the connectome or recording later."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def executable_file(text: str) -> str:
    """The absolute path of an existing executable file (a Unity player, for instance)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a file" + (" (it is a folder: give the executable in it)"
                                                                     if path.is_dir() else ""))
    if not os.access(path, os.X_OK):
        raise argparse.ArgumentTypeError(f"{text} is not executable: chmod +x {text}")
    return str(path.resolve())


def given_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> frozenset[str]:
    """Destinations of the flags written on the command line (not filled in from a default).

    argparse fills a default in only where the namespace lacks the attribute, so parsing into a
    namespace pre-set to markers leaves a marker exactly where the user wrote nothing (a marker is an
    empty list, which an ``append`` flag copies before it appends).
    """
    markers = {dest: _Unset() for dest in vars(parser.parse_args([]))}
    parsed = parser.parse_args(argv, namespace=argparse.Namespace(**markers))
    return frozenset(dest for dest, value in vars(parsed).items() if value is not markers.get(dest))


class _Unset(list):
    """The marker of :func:`given_flags`."""
