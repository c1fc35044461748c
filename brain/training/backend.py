"""The contract between the master and where its workers run, and the local backend that fulfils it on this machine.

:class:`Backend` is what the master (:class:`~brain.training.trainer.Trainer`) needs from a backend;
:class:`LocalBackend` runs the workers (:mod:`brain.training.a3c`) as processes of this machine
with the global brain, the RMSProp statistics and the hippocampal memory in shared memory
(Hogwild); the Ray backend (:mod:`brain.training.ray_backend`) fulfils the same contract on a cluster.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Protocol

import torch.multiprocessing as mp

from brain.events import Event
from brain.recording import Recorder, RecordingSpec
from brain.training import a3c
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop


class BackendError(RuntimeError):
    """The chosen backend cannot run here (Ray missing, cluster unreachable): a usage error."""


class Backend(Protocol):
    """Where the workers run and how the master reaches them: :class:`LocalBackend` or the Ray backend.

    The master (:class:`~brain.training.trainer.Trainer`) owns everything else: logs, episode table,
    checkpoints, restarts.
    """

    def start_worker(self, rank: int, generation: int) -> None: ...

    def dead_workers(self) -> list[tuple[int, str]]:
        """Ranks whose worker stopped while the run still needs it, each with how it ended."""

    def any_alive(self) -> bool: ...

    def steps(self) -> int:
        """Global environment steps so far."""

    def set_curriculum_position(self, position: int) -> None:
        """Tell the workers the run's curriculum position (:mod:`brain.training.curriculum`)."""

    def events(self, timeout: float) -> list[Event]:
        """The workers' (and the recording writer's) events that arrived, waiting up to ``timeout``."""

    def open_recorder(self, path: Path, spec: RecordingSpec) -> Recorder:
        """A recorder whose episodes come from this backend's workers (not started)."""

    def state(self) -> dict:
        """``brain``, ``optimizer`` and ``memory`` state dicts of the global copies, for a checkpoint."""

    def request_stop(self) -> None: ...

    def shutdown(self) -> None:
        """Stop every worker (waiting for them to finish their rollout) and release the backend."""


class Counters:
    """Global step and episode counters, and the run's curriculum position, shared by all processes."""

    def __init__(self, context, steps: int = 0, episodes: int = 0):
        self._steps = context.Value("q", steps)
        self._episodes = context.Value("q", episodes)
        self._position = context.Value("i", 0, lock=False)  # written by the master only

    def steps(self) -> int:
        return self._steps.value

    def add_steps(self, n: int) -> None:
        with self._steps.get_lock():
            self._steps.value += n

    def next_episode(self) -> int:
        """A run-wide number for an episode that just ended (0, 1, ... over all workers)."""
        with self._episodes.get_lock():
            self._episodes.value += 1
            return self._episodes.value - 1

    def curriculum_position(self) -> int:
        return self._position.value

    def set_curriculum_position(self, position: int) -> None:
        self._position.value = position


class LocalBackend:
    """Worker processes on this machine: brain, RMSProp statistics and DND in shared memory (Hogwild)."""

    def __init__(self, cfg: TrainConfig, connectome_path: Path, brain, optimizer: SharedRMSprop, memory,
                 steps: int, episodes: int):
        self.cfg, self.connectome_path = cfg, connectome_path
        self.context = mp.get_context("spawn")
        brain.share_memory()
        optimizer.share_memory()
        if memory is not None:
            memory.share_memory_()
        a3c.attach_memory(brain, memory)
        self.brain, self.optimizer, self.memory = brain, optimizer, memory
        self.parameters = a3c.SharedParameters(brain, optimizer)
        self.counters = Counters(self.context, steps, episodes)
        self.queue = self.context.Queue()
        self.stop = self.context.Event()
        self.processes: list = [None] * cfg.workers
        self.sink = None

    def start_worker(self, rank: int, generation: int) -> None:
        args = (rank, generation, self.cfg, str(self.connectome_path), self.parameters, self.memory,
                self.counters, self.queue, self.stop, self.sink)
        process = self.context.Process(target=a3c.worker_main, args=args, name=f"a3c-worker-{rank}", daemon=True)
        process.start()
        self.processes[rank] = process

    def dead_workers(self) -> list[tuple[int, str]]:
        if self.stop.is_set():
            return []
        return [(rank, f"exit code {process.exitcode}") for rank, process in enumerate(self.processes)
                if process is not None and not process.is_alive()]

    def any_alive(self) -> bool:
        return any(process.is_alive() for process in self.processes if process is not None)

    def steps(self) -> int:
        return self.counters.steps()

    def set_curriculum_position(self, position: int) -> None:
        self.counters.set_curriculum_position(position)

    def events(self, timeout: float) -> list[Event]:
        try:
            return [self.queue.get(timeout=timeout)]
        except queue.Empty:
            return []

    def open_recorder(self, path: Path, spec: RecordingSpec) -> Recorder:
        recorder = Recorder(self.context, path, spec, self.cfg.record_every, self.queue, self.cfg.record_flush_seconds)
        self.sink = recorder.sink
        return recorder

    def state(self) -> dict:
        return {"brain": self.brain.state_dict(), "optimizer": self.optimizer.state_dict(),
                "memory": None if self.memory is None else self.memory.state_dict()}

    def request_stop(self) -> None:
        self.stop.set()

    def shutdown(self) -> None:
        self.stop.set()
        for process in self.processes:
            if process is not None:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
