"""Small real recordings for the analysis tests: the tiny brain playing the embedded simulator.

Written with the recording's own API (``prepare``, ``EpisodeBuffer``, ``RecordingFile``) in this
process, the way ``brain.evaluate --record`` writes, so a fixture costs a second or two instead
of a training run's worker processes. Episodes are cut after ``steps`` steps (an untrained
brain rarely finishes a trial quickly); the run directory also gets the resolved connectome,
the config and ``episodes.csv``, as a training run leaves them. :func:`trained_run` records the
real A3C worker in this process instead, learning and writing its episodic memory.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Mapping

import torch
import torch.multiprocessing as mp

import tasks
from brain.engine import Brain
from brain.recording import RECORDING_FILE, EpisodeBuffer, RecordingFile, RecordingSink, RecordingSpec, prepare
from brain.training import a3c
from brain.training.acting import EnvironmentBatch, act, sample_actions
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
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
    prepare(path, spec, brain.connectome.to_yaml(), brain.connectome.name, {"kind": "test", "gamma": 0.99})
    env = ConnectomeInputs(tasks.make(task, rgb_size=brain.input_shapes["rgb"][-1],
                                      depth_size=brain.input_shapes["depth"][-1]), tuple(brain.input_shapes))
    table, global_step = EpisodeTable(run_dir / "episodes.csv"), 0
    with RecordingFile(path) as file, torch.no_grad():
        for number in range(episodes):
            envs = EnvironmentBatch([env], [seed + number])
            state, buffer = brain.initial_state(1), EpisodeBuffer(spec.buffered_keys, spec.memory, number)
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


def trained_run(run_dir: Path, task: str = "1-2", episodes: int = 4, seed: int = 0) -> Path:
    """A run directory whose ``recording.h5`` holds the first ``episodes`` episodes of one A3C worker training the
    tiny brain on ``task`` in this process, every one recorded with its memory traffic (as the writer would)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        cfg = TrainConfig(connectome=str(TINY), task=task, workers=1, steps=10**6, seed=seed, out=str(run_dir),
                          t_max=10, record_every=1)
        shared = Brain.from_connectome(TINY)
        memory = shared.regions["hippocampus"].make_memory()
        a3c.attach_memory(shared, memory)
        spec = RecordingSpec.for_brain(shared)
        sink = RecordingSink(queue.Queue(), threading.Event(), 1, spec.buffered_keys, spec.memory)
        sink.accepting.set()
        worker = a3c.Worker(0, 0, cfg, str(TINY), a3c.SharedParameters(shared, SharedRMSprop(shared.parameters())),
                            memory, Counters(mp.get_context("spawn")), queue.Queue(), threading.Event(), sink)
        worker._setup()
        while sink.queue.qsize() < episodes:
            worker.rollout()
        run_dir.mkdir(parents=True)
        (run_dir / "connectome.yaml").write_text(shared.connectome.to_yaml())
        cfg.to_yaml(run_dir / "config.yaml")
        prepare(run_dir / RECORDING_FILE, spec, shared.connectome.to_yaml(), shared.connectome.name,
                {"kind": "train", "global_step": 0, "record_every": 1, "gamma": cfg.gamma})
        with RecordingFile(run_dir / RECORDING_FILE) as file:
            for _ in range(episodes):
                file.append(sink.queue.get_nowait())
        return run_dir
    finally:
        torch.set_num_threads(threads)


def empty_recording(run_dir: Path) -> Path:
    """A run directory whose recording was prepared but holds no episode yet (a run that just started)."""
    brain = Brain.from_connectome(TINY)
    run_dir.mkdir(parents=True)
    prepare(run_dir / RECORDING_FILE, RecordingSpec.for_brain(brain), brain.connectome.to_yaml(),
            brain.connectome.name, {"kind": "test"})
    return run_dir
