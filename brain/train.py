"""Start or resume a training run and summarise it: what ``python -m brain.run`` does by default."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from brain.config import TrainConfig
from brain.rundir import RunDirError
from brain.trainer import Trainer, ray_backend_module

CONNECTOME_FILE = "connectome.yaml"
CONFIG_FILE = "config.yaml"


def prepare_run_dir(cfg: TrainConfig, resume: bool) -> tuple[Path, TrainConfig]:
    """Create (or reopen, with ``resume``) the run directory and store the resolved connectome there.

    A resumed run keeps its stored connectome and config; only ``steps``, ``workers``, ``envs_per_worker``
    and where they run (``backend``, ``address``, ``device``) may change.
    """
    from brain.check import dry_run
    from brain.connectome import load_connectome
    from brain.engine import Brain
    from brain.recording.spec import check_compression, check_regions

    run_dir = Path(cfg.out)
    if resume:
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunDirError(f"--resume: {run_dir} holds no run to resume (no {CONFIG_FILE}); "
                              f"drop --resume to start a new run there")
        stored = TrainConfig.from_yaml(run_dir / CONFIG_FILE)
        for name in ("steps", "workers", "envs_per_worker", "backend", "address", "device"):
            setattr(stored, name, getattr(cfg, name))
        stored.to_yaml(run_dir / CONFIG_FILE)
        return run_dir, stored
    if (run_dir / CONFIG_FILE).exists():
        raise RunDirError(f"{run_dir} already holds a run; add --resume to continue it, or choose a new --out")
    brain = Brain(load_connectome(cfg.connectome, lesions=cfg.lesions))  # validate before creating anything
    dry_run(brain)
    connectome = brain.connectome
    check_regions(cfg.record_regions, connectome)
    check_compression(cfg.record_compression)
    resolved = brain.resolved_yaml()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONNECTOME_FILE).write_text(resolved)
    cfg.to_yaml(run_dir / CONFIG_FILE)
    return run_dir, cfg


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train the connectome's brain as ``cfg`` says, print a summary, and return the run directory."""
    if cfg.backend == "ray":  # reach the cluster before the run directory is made: a bad --address leaves nothing
        ray_backend_module().connect(cfg.address, cfg.workers)
    run_dir, cfg = prepare_run_dir(cfg, resume)
    trainer = Trainer(cfg, run_dir, run_dir / CONNECTOME_FILE, resume=resume)
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
    lines += [
        "next:",
        f"  tensorboard --logdir {run_dir / 'tb'}          (losses, returns, success, memory occupancy{_tensorboard_note()})",
        f"  python -m brain.evaluate {run_dir} --episodes 100   (success rate of the trained brain)",
        f"  python -m brain.run --out {run_dir} --resume --steps {cfg.steps * 2}   (train on)",
    ]
    lines.append(f"  python -m analysis.curves {run_dir}   (learning curves and every loss)")
    if cfg.record_every:
        lines += [f"  python -m analysis.bicamon {run_dir}   (region activity replayed on the brain, beside the path)",
                  f"  python -m analysis.cells {run_dir}   (place, grid and head-direction cells against shuffles)"]
    return "\n".join(lines)

