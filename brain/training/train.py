"""Start or resume a training run and summarise it: what ``python -m brain.run`` does by default."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

from brain.training.budget import Limits
from brain.training.config import APPLIED_ON_RESUME, TrainConfig, flag_name
from brain.training.curriculum import COMPLETIONS_FILE, ORDER
from brain.training.rundir import RunDirError, clear_before_checkpoint, has_checkpoint, make_run_dir, read_config
from brain.training.trainer import Trainer, ray_backend_module

CONNECTOME_FILE = "connectome.yaml"
CONFIG_FILE = "config.yaml"
#: Command-line destinations that are not settings of the run (limits, modes).
NOT_SETTINGS = ("check", "resume", "config", "max_memory_gb", "max_workers")


def prepare_run_dir(cfg: TrainConfig, resume: bool, limits: Limits | None = None,
                    given: frozenset[str] = frozenset()) -> tuple[Path, TrainConfig]:
    """Check everything, then create (or reopen, with ``resume``) the run directory with the resolved connectome.

    Nothing is written before every check has passed. A resumed run keeps its stored connectome
    and config; the flags in :data:`APPLIED_ON_RESUME` change them, and any other flag in ``given``
    (the ones written on the command line) that differs from the stored run is refused. A directory
    whose run died before its first checkpoint can be started again, or resumed from step 0. The
    resumed config is written by :func:`train` once the checkpoint has loaded.
    """
    from brain.training.preflight import checked_brain, preflight

    limits = limits or Limits()
    run_dir = Path(cfg.out)
    if resume:
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunDirError(f"--resume: {run_dir} holds no run to resume (no {CONFIG_FILE}); "
                              f"drop --resume to start a new run there")
        stored = resumed_config(cfg, read_config(run_dir), run_dir, given)
        preflight(dataclasses.replace(stored, connectome=str(run_dir / CONNECTOME_FILE), lesions={}), limits)
        return run_dir, stored
    if (run_dir / CONFIG_FILE).exists() and has_checkpoint(run_dir):
        raise RunDirError(f"{run_dir} already holds a run; add --resume to continue it, or choose a new --out")
    connectome, _ = preflight(cfg, limits)  # validate before creating anything
    brain, notes = checked_brain(connectome, cfg)
    make_run_dir(run_dir)
    if (run_dir / CONFIG_FILE).exists():
        cleared = clear_before_checkpoint(run_dir)
        print(f"{run_dir}: its run died before its first checkpoint; starting it anew"
              + (f" (removed {', '.join(cleared)})" if cleared else ""))
    (run_dir / CONNECTOME_FILE).write_text(brain.resolved_yaml())
    cfg.to_yaml(run_dir / CONFIG_FILE)
    for note in notes:
        print(note)
    return run_dir, cfg


def resumed_config(cfg: TrainConfig, stored: TrainConfig, run_dir: Path, given: frozenset[str]) -> TrainConfig:
    """The stored config with the flags of :data:`APPLIED_ON_RESUME` applied; a RunDirError for any other change."""
    from brain.connectome import load_connectome
    from brain.engine import Brain

    resumed = dataclasses.replace(stored, **{name: getattr(cfg, name) for name in APPLIED_ON_RESUME})
    for name in sorted(given - set(NOT_SETTINGS) - set(APPLIED_ON_RESUME)):
        flag = flag_name(name)
        if name == "connectome":
            ours = Brain(load_connectome(cfg.connectome, lesions=cfg.lesions)).resolved_yaml()
            if ours == (run_dir / CONNECTOME_FILE).read_text():
                continue
            problem = f"--connectome {cfg.connectome} differs from the connectome the run was trained with"
        elif getattr(cfg, name) == getattr(stored, name):
            continue
        else:
            problem = f"{flag} {getattr(cfg, name)} differs from the run's stored {getattr(stored, name)}"
        applied = ", ".join(flag_name(name) for name in APPLIED_ON_RESUME[:6])
        raise RunDirError(f"--resume: {problem} ({run_dir / CONFIG_FILE}); a resumed run keeps its connectome and "
                          f"training settings. Fix: drop {flag} to continue the run as it was, or start a new run "
                          f"with another --out (flags that do apply on resume: {applied}, and the --unity-* ones)")
    return resumed


def train(cfg: TrainConfig, resume: bool = False, limits: Limits | None = None,
          given: frozenset[str] = frozenset()) -> Path:
    """Train the connectome's brain as ``cfg`` says, print a summary, and return the run directory.

    ``limits``: the resource limits (:mod:`brain.training.budget`); ``given``: the flags written on the command
    line (a resumed run refuses those that would change it).
    """
    if cfg.backend == "ray":  # reach the cluster before the run directory is made: a bad --address leaves nothing
        ray_backend_module().connect(cfg.address, cfg.workers)
    run_dir, cfg = prepare_run_dir(cfg, resume, limits, given)
    if resume and not has_checkpoint(run_dir):
        cleared = clear_before_checkpoint(run_dir)
        print(f"{run_dir}: its run died before its first checkpoint; resuming from step 0"
              + (f" (removed {', '.join(cleared)})" if cleared else ""))
        resume = False
    trainer = Trainer(cfg, run_dir, run_dir / CONNECTOME_FILE, resume=resume)  # loads and checks the checkpoint
    cfg.to_yaml(run_dir / CONFIG_FILE)  # a resumed run's new steps and workers, once nothing can fail any more
    started = time.time()
    progress = trainer.train()
    print(summary(run_dir, cfg, progress, time.time() - started))
    return run_dir


#: What to install for the ``tensorboard`` command (the ``tensorboard`` extra; 2.20 runs beside the protobuf 3.20.3
#: of the ``unity`` and ``ray`` extras).
TENSORBOARD_INSTALL = 'pip install "tensorboard>=2.12"'


def _tensorboard_note() -> str:
    """Empty when the ``tensorboard`` command is on PATH, otherwise how to install it."""
    return "" if shutil.which("tensorboard") else f"; not installed here: {TENSORBOARD_INSTALL}"


def summary(run_dir: Path, cfg: TrainConfig, progress, seconds: float) -> str:
    """Per-task results and where to look next."""
    lines = [f"\nrun directory: {run_dir}",
             f"{progress.episodes} episodes, {progress.steps} environment steps in {seconds:.0f} s"
             + (f"; {progress.restarts} worker restarts" if progress.restarts else "")
             + (f"; {progress.nan_skipped} non-finite updates skipped" if progress.nan_skipped else "")]
    for task, (episodes, wins) in sorted(progress.totals.items()):
        recent = progress.success_rate(task)
        lines.append(f"  task {task}: {wins}/{episodes} successes, {recent:.0%} over the last "
                     f"{len(progress.recent[task])} episodes")
    if cfg.curriculum and progress.completions:
        lines.append(f"  curriculum: {len(progress.completions)} of {len(ORDER)} tasks complete (2017 rule over the "
                     f"run's trials; {COMPLETIONS_FILE}):")
        lines += [f"    {c.task:5} after {c.episodes} episodes, at step {c.steps:,}, {c.minutes:.1f} min"
                  for c in progress.completions]
    lines += [
        "next:",
        f"  tensorboard --logdir {run_dir / 'tb'}          (losses, returns, success, memory occupancy{_tensorboard_note()})",
        f"  python -m brain.evaluate {run_dir} --episodes 100   (success rate of the trained brain)",
        f"  python -m brain.run --out {run_dir} --resume --steps {cfg.steps * 2}   (train on)",
    ]
    lines.append(f"  python -m analysis.curves {run_dir}   (learning curves and every loss)")
    if cfg.record_every:
        lines += [f"  python -m analysis.bicamon {run_dir}   (region activity replayed on the brain, beside the path)",
                  f"  python -m analysis.cells {run_dir}   (cells against shuffles and untrained brains)"]
    return "\n".join(lines)

