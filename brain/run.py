"""Command line of the brain: ``python -m brain.run --connectome wba.yaml``.

Without ``--check`` it trains the connectome's brain with A3C on the embedded simulator
(:mod:`brain.train`) into a run directory and ends with a summary and where to look next.
``--check`` only loads and validates the connectome, builds the brain and prints the compiled
graph (regions, ports with shapes, connections with delays, execution phases, parameters).
A broken connectome, a bad flag or an unusable run directory prints one error on stderr and
exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from brain.acting import check_device
from brain.argtypes import executable_file, given_flags, name_list, number
from brain.budget import Limits, add_limit_flags, limits_from_args
from brain.config import DEFAULT_ENVS_PER_WORKER, TrainConfig
from brain.errors import ConnectomeError
from brain.recording.spec import COMPRESSIONS, RecordingError
from brain.rundir import RunDirError
from brain.trainer import BackendError, WorkerCrashLoop

_DEFAULTS = TrainConfig()
ENVIRONMENTS = ("embedded", "unity")


def _task_id(text: str) -> str:
    from tasks import TASK_IDS

    if text not in TASK_IDS:
        raise argparse.ArgumentTypeError(f"unknown task {text!r}; valid tasks: {', '.join(TASK_IDS)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m brain.run`` argument parser."""
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
    brain = parser.add_argument_group("connectome")
    brain.add_argument("--connectome", default=_DEFAULTS.connectome, metavar="NAME_OR_PATH",
                       help="bundled connectome name (wba, wba_no_memory, ...) or path to a YAML file "
                            "(default: %(default)s)")
    brain.add_argument("--lesion", action="append", default=[], metavar="REGION=MODE",
                       help="lesion on top of the file's: MODE is remove, silence or a fraction in (0, 1); "
                            "'ca3.state->ca3.previous=remove' removes a connection; repeatable")
    brain.add_argument("--check", action="store_true",
                       help="validate the connectome, print the compiled graph and exit")
    run = parser.add_argument_group("training run")
    tasks = run.add_mutually_exclusive_group()
    tasks.add_argument("--task", type=_task_id, default=_DEFAULTS.task,
                       help="WBAI 2017 task id, 1-1 ... 3-2 (default: %(default)s)")
    tasks.add_argument("--curriculum", action="store_true",
                       help="train through the tasks in 2017 order, moving on when one is complete")
    run.add_argument("--workers", type=number(int, 1), default=_DEFAULTS.workers,
                     help="A3C worker processes, one thread each (default: %(default)s)")
    run.add_argument("--envs-per-worker", type=number(int, 1), default=None, metavar="N",
                     help="environments each worker acts on at once, with one batched brain step; 1 = the classic "
                          "A3C worker (default: 16 on the embedded simulator, 1 on Unity)")
    run.add_argument("--device", default=_DEFAULTS.device, metavar="DEVICE",
                     help="where the workers' brains act and train: cpu, or cuda where CUDA is present; the "
                          "simulators stay on the CPU (default: %(default)s)")
    run.add_argument("--steps", type=number(int, 1), default=_DEFAULTS.steps,
                     help="environment steps over all workers (default: %(default)s); with --resume, the new total")
    run.add_argument("--backend", choices=("local", "ray"), default=_DEFAULTS.backend,
                     help="where the workers run: local processes, or Ray actors on this machine or a cluster "
                          "(needs pip install -e \".[ray]\"; docs/training.md) (default: %(default)s)")
    run.add_argument("--address", default=_DEFAULTS.address, metavar="ADDR",
                     help="with --backend ray: the cluster to join, 'auto' (started with 'ray start' here) or "
                          "HOST:PORT of its head (default: start Ray on this machine)")
    run.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="master seed (default: %(default)s)")
    run.add_argument("--out", default=None, metavar="RUN_DIR",
                     help="run directory (default: runs/<connectome>-<task>)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in --out from its checkpoint (weights, optimizer, memory, counters)")
    run.add_argument("--until-success", type=number(float, 0, 1), default=_DEFAULTS.until_success, metavar="FRACTION",
                     help="stop once the success rate over the last 100 episodes reaches this (0 = never)")
    run.add_argument("--max-minutes", type=number(float, 0), default=_DEFAULTS.max_minutes, metavar="M",
                     help="stop after this much wall-clock time (0 = no limit)")
    record = parser.add_argument_group("recording (HDF5, RUN_DIR/recording.h5; docs/recording.md)")
    record.add_argument("--record-every", type=number(int, 0), default=_DEFAULTS.record_every, metavar="K",
                        help="record every K-th episode of each worker, all its steps (0 = off; default: "
                             "%(default)s)")
    record.add_argument("--record-regions", type=name_list, default=_DEFAULTS.record_regions, metavar="A,B",
                        help="comma-separated regions to record (default: all)")
    record.add_argument("--record-float16", action="store_true", help="store region activity as float16 (half size)")
    record.add_argument("--record-compression", choices=COMPRESSIONS, default=_DEFAULTS.record_compression,
                        help="HDF5 filter: gzip (any HDF5 tool reads it), lzf (faster, h5py only) or none "
                             "(default: %(default)s)")
    record.add_argument("--record-flush-seconds", type=number(float, 0), default=_DEFAULTS.record_flush_seconds,
                        metavar="S", help="longest wait of a recorded episode before it reaches the file "
                                          "(default: %(default)s)")
    unity = parser.add_argument_group("environment (Unity builds through ML-Agents: docs/unity.md)")
    unity.add_argument("--env", choices=ENVIRONMENTS, default=_DEFAULTS.env,
                       help="embedded simulator or a Unity build, one Unity process per worker (default: %(default)s)")
    unity.add_argument("--unity-build", type=executable_file, metavar="PATH",
                       help="Unity player executable (python -m tasks.unity.peer --make-build DIR writes a stand-in)")
    unity.add_argument("--unity-base-port", type=number(int, 1, 65535), default=_DEFAULTS.unity_base_port,
                       metavar="PORT", help="worker i uses PORT + i (default: %(default)s)")
    unity.add_argument("--unity-timeout", type=number(int, 1), default=_DEFAULTS.unity_timeout, metavar="S",
                       help="seconds before a silent Unity process counts as hung and is restarted "
                            "(default: %(default)s)")
    unity.add_argument("--unity-time-scale", type=number(float, 0, low_inclusive=False),
                       default=_DEFAULTS.unity_time_scale, metavar="X",
                       help="Unity time scale: at most X times real time (default: %(default)s)")
    unity.add_argument("--unity-no-graphics", action="store_true",
                       help="start the players with -nographics -batchmode (scenes whose cameras allow it)")
    a3c = parser.add_argument_group("A3C (defaults in brain/config.py)")
    a3c.add_argument("--t-max", type=number(int, 1), default=_DEFAULTS.t_max, help="rollout length")
    a3c.add_argument("--lr", type=number(float, 0), default=_DEFAULTS.lr, help="shared RMSProp learning rate")
    a3c.add_argument("--gamma", type=number(float, 0, 1), default=_DEFAULTS.gamma, help="discount per step")
    a3c.add_argument("--gae-lambda", type=number(float, 0, 1), default=_DEFAULTS.gae_lambda,
                     help="1 = n-step returns (A3C), below 1 = GAE(lambda)")
    a3c.add_argument("--entropy-coef", type=number(float, 0), default=_DEFAULTS.entropy_coef,
                     help="entropy bonus weight")
    add_limit_flags(parser)
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


def check(cfg: TrainConfig, limits: Limits) -> int:
    """Check everything the run would use, build the brain, run a dry training pass and print its compiled
    graph and cost; exit code 0."""
    from brain.budget import message
    from brain.check import dry_run, print_check
    from brain.engine import Brain
    from brain.preflight import preflight

    connectome, cost = preflight(cfg, limits)
    brain = Brain(connectome)
    dry_run(brain)
    print_check(brain)
    print(message(cost, limits))
    return 0


def config_from_args(args: argparse.Namespace, lesions: dict[str, str]) -> TrainConfig:
    """The parsed flags as a :class:`TrainConfig`."""
    from pathlib import Path

    task = "curriculum" if args.curriculum else args.task
    out = args.out or str(Path("runs") / f"{Path(args.connectome).stem}-{task}")
    return TrainConfig(connectome=args.connectome, task=args.task, curriculum=args.curriculum, workers=args.workers,
                       envs_per_worker=args.envs_per_worker, device=args.device,
                       backend=args.backend, address=args.address,
                       steps=args.steps, seed=args.seed, out=out, lesions=lesions, t_max=args.t_max, lr=args.lr,
                       gamma=args.gamma, gae_lambda=args.gae_lambda, entropy_coef=args.entropy_coef,
                       until_success=args.until_success, max_minutes=args.max_minutes,
                       record_every=args.record_every, record_regions=args.record_regions,
                       record_float16=args.record_float16, record_compression=args.record_compression,
                       record_flush_seconds=args.record_flush_seconds, env=args.env,
                       unity_build=args.unity_build or "", unity_base_port=args.unity_base_port,
                       unity_timeout=args.unity_timeout, unity_time_scale=args.unity_time_scale,
                       unity_no_graphics=args.unity_no_graphics)


def check_environment(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Flags that only make sense together; exits with code 2 naming the flag and the fix."""
    if args.env != "unity":
        if args.unity_build is not None:
            parser.error("argument --unity-build: only used with --env unity")
        return
    try:
        import mlagents_envs  # noqa: F401
    except ImportError:
        parser.error('argument --env: unity needs mlagents-envs; install it with pip install -e ".[unity]"')
    if args.unity_build is None and not (args.resume or args.check):
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
    if args.address and args.backend != "ray":
        parser.error(f"--address {args.address} needs --backend ray (the local backend runs on this machine only)")
    check_environment(parser, args)
    limits = limits_from_args(parser, args)
    try:
        check_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
    try:
        lesions = parse_lesions(args.lesion)
        if args.check:
            return check(config_from_args(args, lesions), limits)
        from brain.train import train

        train(config_from_args(args, lesions), resume=args.resume, limits=limits, given=given_flags(parser, argv))
    except (ConnectomeError, RunDirError, RecordingError, BackendError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except WorkerCrashLoop as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
