"""Command line of the brain: ``python -m brain.run --connectome wba.yaml --check``.

``--check`` loads and validates the connectome, builds the brain and prints the compiled graph
(regions, ports with shapes, connections with delays, execution phases, parameters). A broken
connectome prints one error (file, line, field, fix) on stderr and exits with code 2.

The parser is made by :func:`build_parser`, so that the training options can join it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from brain.errors import ConnectomeError


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m brain.run`` argument parser (connectome options; trainers add theirs)."""
    parser = argparse.ArgumentParser(prog="python -m brain.run", description=__doc__.splitlines()[0])
    parser.add_argument("--connectome", default="wba.yaml", metavar="NAME_OR_PATH",
                        help="bundled connectome name (wba, wba_no_memory, ...) or path to a YAML file "
                             "(default: %(default)s)")
    parser.add_argument("--lesion", action="append", default=[], metavar="REGION=MODE",
                        help="lesion on top of the file's: MODE is remove, silence or a fraction in (0, 1); "
                             "'ca3.state->ca3.previous=remove' removes a connection; repeatable")
    parser.add_argument("--check", action="store_true",
                        help="validate the connectome, print the compiled graph and exit")
    return parser


def parse_lesions(items: Sequence[str]) -> dict[str, str]:
    """``["ca3=remove", "amygdala=0.5"]`` -> ``{"ca3": "remove", "amygdala": "0.5"}``.

    Modes stay strings here; the connectome schema checks them and reports bad ones.
    """
    lesions = {}
    for item in items:
        target, sep, mode = item.rpartition("=")
        if not sep or not target.strip() or not mode.strip():
            raise ConnectomeError(f"bad lesion {item!r}: expected REGION=MODE", field="--lesion",
                                  fix="write e.g. --lesion hippocampus=remove, --lesion amygdala=silence or "
                                      "--lesion entorhinal=0.5")
        lesions[target.strip()] = mode.strip()
    return lesions


def check(connectome: str, lesions: dict[str, str]) -> int:
    """Build the brain and print its compiled graph; exit code 0."""
    from brain.check import print_check
    from brain.engine import Brain

    print_check(Brain.from_connectome(connectome, lesions=lesions))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for a connectome problem, printed without traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        lesions = parse_lesions(args.lesion)
        if args.check:
            return check(args.connectome, lesions)
    except ConnectomeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parser.error("nothing to do: add --check (training options are not part of this parser yet)")
    return 2


if __name__ == "__main__":
    sys.exit(main())
