"""Command line of the brain: ``python -m brain.run --connectome wba.yaml``.

Without ``--check`` it trains the connectome's brain with A3C on the embedded simulator
(:mod:`brain.training.train`) into a run directory and ends with a summary and where to look next.
``--check`` only loads and validates the connectome, builds the brain and prints the compiled
graph (regions, ports with shapes, connections with delays, execution phases, parameters).
A broken connectome, a bad flag or an unusable run directory prints one error on stderr and
exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from brain.argtypes import given_flags
from brain.errors import ConnectomeError
from brain.recording.spec import RecordingError
from brain.training.acting import check_device
from brain.training.backend import BackendError
from brain.training.budget import Limits, add_limit_flags, limits_from_args
from brain.training.config import (DEFAULT_ENVS_PER_WORKER, SETTINGS, TrainConfig, flag_name, read_settings,
                                   setting_kind)
from brain.training.rundir import RunDirError
from brain.training.trainer import WorkerCrashLoop

#: Settings whose default the config works out from the others (the run directory, environments per worker).
RESOLVED = ("out", "envs_per_worker")


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`TrainConfig` setting, with its help, check, choices and default, grouped as the settings say.

    ``--out`` and ``--envs-per-worker`` default to None: the config resolves them from the other settings.
    """
    defaults, groups = TrainConfig(), {}
    for name, spec in SETTINGS.items():
        group = groups.get(spec.group) or groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        kind, _ = setting_kind(name)
        default = None if name in RESOLVED else getattr(defaults, name)
        if default == "" and spec.parse:  # argparse would check an empty default (no Unity build) as a value
            default = None
        shown = "" if kind is bool or default in ("", [], {}, None) else " (default: %(default)s)"
        options: dict = dict(dest=name, help=spec.help.replace("%", "%%") + shown)
        if kind is bool:
            options.update(action="store_true")
        elif kind is dict:  # REGION=MODE items, repeatable
            options.update(action="append", type=spec.parse, default=[], metavar=spec.metavar)
        else:
            options.update(type=spec.parse or kind, default=default, metavar=spec.metavar,
                           choices=spec.choices or None)
        group.add_argument(flag_name(name), **options)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m brain.run`` argument parser: the modes, then one flag per setting of :class:`TrainConfig`."""
    parser = argparse.ArgumentParser(
        prog="python -m brain.run", description=__doc__.splitlines()[0],
        epilog="examples:\n"
               "  python -m brain.run --connectome wba.yaml                       # demo: learn task 1-3\n"
               "  python -m brain.run --task 1-3 --workers 2 --steps 500000 --out runs/t13\n"
               "  python -m brain.run --connectome wba_no_memory --curriculum --out runs/nomem\n"
               "  python -m brain.run --out runs/t13 --resume --steps 1000000\n"
               "  python -m brain.run --task 1-3 --workers 16 --backend ray --address auto   # on a Ray cluster\n"
               "  python -m brain.run --task 1-3 --record-every 1 --record-regions ca1,entorhinal --out runs/rec\n"
               "  python -m brain.run --connectome wba.yaml --lesion ca3=silence --check",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_argument_group("modes")
    modes.add_argument("--check", action="store_true",
                       help="validate the connectome and the settings, print the compiled graph and exit")
    modes.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint (weights, optimizer, memory, counters)")
    modes.add_argument("--config", metavar="FILE",
                       help="settings from a YAML file, keys as in a run's config.yaml (e.g. `task: 1-7` and "
                            "`t_max: 40`); flags on the command line override it")
    add_setting_flags(parser)
    add_limit_flags(parser)
    return parser


def check(cfg: TrainConfig, limits: Limits) -> int:
    """Check everything the run would use, build the brain, run a dry training pass and print its compiled
    graph and cost; exit code 0."""
    from brain.engine.check import print_check
    from brain.training.budget import message
    from brain.training.preflight import checked_brain, preflight

    connectome, cost = preflight(cfg, limits)
    brain, notes = checked_brain(connectome, cfg)
    print_check(brain)
    print(message(cost, limits))
    for note in notes:
        print(note)
    return 0


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The parsed flags as a :class:`TrainConfig` (``--lesion`` and ``--init-region`` items as its mappings)."""
    values = {name: dict(getattr(args, name)) if setting_kind(name)[0] is dict else getattr(args, name)
              for name in SETTINGS}
    return TrainConfig(**{**values, "unity_build": args.unity_build or ""})


def apply_config_file(args: argparse.Namespace, given: frozenset[str]) -> frozenset[str]:
    """The settings of ``--config FILE`` for every flag not on the command line; returns the settings now given.

    ``--task`` on the command line overrides the file's ``curriculum``, and ``--curriculum`` its ``task``.
    """
    settings = read_settings(Path(args.config))
    overridden = given | ({"curriculum"} if "task" in given else set()) | ({"task"} if "curriculum" in given else set())
    for name, value in settings.items():
        if name not in overridden:
            setattr(args, name, list(value.items()) if setting_kind(name)[0] is dict else value)
    return given | set(settings)


def check_environment(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags that only make sense together; exits with code 2 naming the flag and the fix."""
    if args.env != "unity":
        if args.unity_build:
            parser.error("argument --unity-build: only used with --env unity")
        return
    try:
        import mlagents_envs  # noqa: F401
    except ImportError:
        parser.error('argument --env: unity needs mlagents-envs; install it with pip install -e ".[unity]"')
    if not args.unity_build and not (args.resume or args.check):
        parser.error("argument --unity-build: --env unity needs the Unity build to run (python -m tasks.unity.peer "
                     "--make-build DIR writes a stand-in that serves the embedded tasks)")
    envs = args.envs_per_worker or DEFAULT_ENVS_PER_WORKER["unity"]
    players = args.workers * envs  # one Unity process per environment
    if args.unity_base_port + players - 1 > 65535:
        parser.error(f"argument --unity-base-port: {args.workers} workers x {envs} environments need "
                     f"ports {args.unity_base_port} to {args.unity_base_port + players - 1}, beyond 65535; choose a "
                     f"lower port or fewer --envs-per-worker")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, printed without traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    given = given_flags(parser, argv)
    if {"task", "curriculum"} <= given:
        parser.error("argument --curriculum: not allowed with argument --task (the curriculum runs every task)")
    if args.config:
        try:
            given = apply_config_file(args, given)
        except ConnectomeError as error:  # a ConfigError, or the file unreadable
            print(f"error: --config: {error}", file=sys.stderr)
            return 2
    if args.rehearsal and not args.curriculum:
        parser.error("argument --rehearsal: rehearses the tasks a curriculum completed, so it needs --curriculum")
    if args.address and args.backend != "ray":
        parser.error(f"--address {args.address} needs --backend ray (the local backend runs on this machine only)")
    check_environment(parser, args)
    limits = limits_from_args(parser, args)
    try:
        check_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
    try:
        if args.check:
            return check(config_from_args(args), limits)
        from brain.training.train import train

        train(config_from_args(args), resume=args.resume, limits=limits, given=given)
    except (ConnectomeError, RunDirError, RecordingError, BackendError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except WorkerCrashLoop as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
