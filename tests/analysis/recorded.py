"""Small real recordings for the analysis tests: the tiny brain playing the embedded simulator.

Written with the recording's own API (``prepare``, ``EpisodeBuffer``, ``RecordingFile``) in this
process, the way ``brain.evaluate --record`` writes, so a fixture costs a second or two instead
of a training run's worker processes. Episodes are cut after ``steps`` steps (an untrained
brain rarely finishes a trial quickly); the run directory also gets the resolved connectome,
the config and ``episodes.csv``, as a training run leaves them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping

import torch

import tasks
from brain.engine import Brain
from brain.recording import RECORDING_FILE, EpisodeBuffer, RecordingFile, RecordingSpec, prepare
from brain.training.acting import EnvironmentBatch, act, sample_actions
from brain.training.config import TrainConfig
from brain.training.environment import ConnectomeInputs
from brain.training.rundir import EpisodeTable

TINY = Path(__file__).parents[1] / "brain" / "data" / "tiny.yaml"


def record_run(run_dir: Path, task: str = "3-1", episodes: int = 3, steps: int = 150,
               lesions: Mapping[str, str | float] | None = None, regions: tuple[str, ...] = (), seed: int = 0) -> Path:
    """A run directory with ``recording.h5`` of ``episodes`` episodes of the untrained tiny brain on ``task``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trainer's workers: a step of the tiny brain is ~1 ms, not ~50 on busy cores
    try:
        return _record(run_dir, task, episodes, steps, lesions, regions, seed)
    finally:
        torch.set_num_threads(threads)


def _record(run_dir: Path, task: str, episodes: int, steps: int, lesions: Mapping[str, str | float] | None,
            regions: tuple[str, ...], seed: int) -> Path:
    torch.manual_seed(seed)
    brain = Brain.from_connectome(TINY, lesions=lesions).eval()
    run_dir.mkdir(parents=True)
    (run_dir / "connectome.yaml").write_text(brain.connectome.to_yaml())
    TrainConfig(connectome=str(TINY), task=task, out=str(run_dir), lesions=dict(lesions or {}),
                record_every=1, record_regions=list(regions)).to_yaml(run_dir / "config.yaml")
    spec = RecordingSpec.for_brain(brain, regions)
    path = run_dir / RECORDING_FILE
    prepare(path, spec, brain.connectome.to_yaml(), brain.connectome.name, {"kind": "test"})
    env = ConnectomeInputs(tasks.make(task, rgb_size=brain.input_shapes["rgb"][-1],
                                      depth_size=brain.input_shapes["depth"][-1]), tuple(brain.input_shapes))
    table, global_step = EpisodeTable(run_dir / "episodes.csv"), 0
    with RecordingFile(path) as file, torch.no_grad():
        for number in range(episodes):
            envs = EnvironmentBatch([env], [seed + number])
            state, buffer = brain.initial_state(1), EpisodeBuffer(spec.buffered_keys)
            for step in range(steps):
                acted, state = act(brain, envs, state, sample_actions, [buffer])
                if acted.dones[0]:
                    break
            global_step += step + 1
            info = envs.infos[0]
            success = bool(info.get("success", False))
            record = buffer.finish(episode=number, worker=0, task=task, success=success, global_step=global_step)
            file.append(record)
            table.append({"time": time.time(), "worker": 0, "env": 0, "task": task, "steps": record.length,
                          "ticks": int(info["ticks"]), "return": record.ret, "success": success,
                          "global_step": global_step})
    table.close()
    return run_dir


def empty_recording(run_dir: Path) -> Path:
    """A run directory whose recording was prepared but holds no episode yet (a run that just started)."""
    brain = Brain.from_connectome(TINY)
    run_dir.mkdir(parents=True)
    prepare(run_dir / RECORDING_FILE, RecordingSpec.for_brain(brain), brain.connectome.to_yaml(),
            brain.connectome.name, {"kind": "test"})
    return run_dir
