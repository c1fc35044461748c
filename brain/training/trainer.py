"""The A3C master: logging, checkpoints and faults, over a backend (:mod:`brain.training.backend`).

The master builds the global brain once (restored from the checkpoint on resume) and hands it
to a :class:`~brain.training.backend.Backend`: :class:`~brain.training.backend.LocalBackend` moves its
parameters, the RMSProp statistics and the hippocampal memory to shared memory and starts ``workers``
processes (:mod:`brain.training.a3c`); the Ray backend (:mod:`brain.training.ray_backend`) ships them
to a learner actor. The master then only listens: workers send episode results, loss terms and
errors (:mod:`brain.events`) through the backend, and the master
writes TensorBoard events, the episode table and checkpoints (one writer, so files are never
written by two processes). With recording on, a writer process of its own appends the
recorded episodes, which workers send it (through a Ray queue on the Ray backend), to ``recording.h5``
(:mod:`brain.recording.writer`). A worker that dies is restarted with a new seed generation;
Ctrl-C stops every worker, lets the writer close the recording and writes a final checkpoint.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tensorboardX import SummaryWriter

from brain.events import EpisodeEnded, Event, NonFiniteLoss, RecordingDropped, RecordingFailed, Updated, WorkerFailed
from brain.recording import RECORDING_FILE, Recorder, RecordingSpec, prepare
from brain.training import a3c
from brain.training.backend import Backend, BackendError, LocalBackend
from brain.training.config import TrainConfig
from brain.training.curriculum import Completion, RunCurriculum, append_completion, follows_run_curriculum
from brain.training.optim import SharedRMSprop
from brain.training.pretrained import load_pretrained
from brain.training.progress import WINDOW, Status, progress_display
from brain.training.rundir import EpisodeTable, load_checkpoint, save_checkpoint

#: A worker that dies this many times in a row before it finishes a rollout (an update) stops the run.
MAX_FRUITLESS_RESTARTS = 3


class WorkerCrashLoop(RuntimeError):
    """Workers keep dying before they finish a rollout: restarting them would only loop."""


@dataclass
class Progress:
    """What the master learns from the workers' events."""

    episodes: int = 0
    updates: int = 0
    nan_skipped: int = 0
    restarts: int = 0
    recent: dict[str, deque] = field(default_factory=lambda: defaultdict(lambda: deque(maxlen=WINDOW)))
    totals: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # task -> [eps, wins]
    current_task: str = "-"
    steps: int = 0
    completions: list[Completion] = field(default_factory=list)  # the run's curriculum, task by task

    def success_rate(self, task: str) -> float:
        window = self.recent[task]
        return sum(window) / len(window) if window else 0.0


def make_backend(cfg: TrainConfig, *args) -> Backend:
    """The backend ``cfg.backend`` names; the Ray one is imported only when asked for."""
    if cfg.backend == "ray":
        return ray_backend_module().RayBackend(cfg, *args)
    return LocalBackend(cfg, *args)


def ray_backend_module():
    """:mod:`brain.training.ray_backend`, or a :class:`BackendError` saying how to install Ray."""
    try:
        from brain.training import ray_backend
    except ImportError as error:
        raise BackendError(f"--backend ray needs Ray, which is not installed here ({error}); "
                           f"install it with: pip install -e \".[ray]\"") from None
    return ray_backend


class Trainer:
    """Runs A3C for a :class:`TrainConfig` into a run directory, on the backend ``cfg.backend``."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, connectome_path: Path, resume: bool = False):
        from brain.engine import Brain

        self.cfg, self.run_dir, self.connectome_path = cfg, run_dir, connectome_path
        torch.manual_seed(cfg.seed)
        self.brain = Brain.from_connectome(str(connectome_path))
        self.optimizer = SharedRMSprop(self.brain.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
        self.memory = self._make_memory()
        self.progress = Progress()
        self.curriculum = RunCurriculum() if follows_run_curriculum(cfg) else None
        start_steps = 0
        if resume:
            start_steps = self._restore(load_checkpoint(run_dir, self.brain))
        else:  # once, into the master brain the workers start from; a checkpoint holds them from then on
            load_pretrained(self.brain, cfg.init_regions)
        self.backend = make_backend(cfg, connectome_path, self.brain, self.optimizer, self.memory, start_steps,
                                    self.progress.episodes)
        if self.curriculum is not None:
            self.backend.set_curriculum_position(self.curriculum.position)
            self.progress.completions = self.curriculum.completions
        self.generations = [0] * cfg.workers
        self._updated = [False] * cfg.workers  # each worker finished a rollout (sent an update) since its start
        self._fruitless = [0] * cfg.workers  # consecutive deaths without any global progress
        self._last_traceback = ""
        self.recorder: Recorder | None = None

    def steps(self) -> int:
        """Global environment steps so far."""
        return self.backend.steps()

    def _start_recorder(self) -> Recorder | None:
        """Prepare ``recording.h5`` (new, or appended to on resume) and start its writer; None when off."""
        cfg = self.cfg
        if not cfg.record_every:
            return None
        spec = RecordingSpec.for_brain(self.brain, cfg.record_regions, cfg.record_float16, cfg.record_compression)
        path = self.run_dir / RECORDING_FILE
        prepare(path, spec, self.brain.connectome.to_yaml(), self.brain.connectome.name,
                {"kind": "train", "global_step": self.steps(), "record_every": cfg.record_every,
                 "gamma": cfg.gamma})
        recorder = self.backend.open_recorder(path, spec)
        recorder.start()
        return recorder

    def _make_memory(self):
        name = a3c.memory_region_name(self.brain)
        return None if name is None else self.brain.regions[name].make_memory()

    # --- checkpoints -----------------------------------------------------------------------------
    def checkpoint(self) -> Path:
        payload = {
            **self.backend.state(),
            "steps": self.steps(),
            "episodes": self.progress.episodes,
            "totals": dict(self.progress.totals),
            "recent": {task: list(window) for task, window in self.progress.recent.items()},
            "generations": self.generations,
            "curriculum": None if self.curriculum is None else self.curriculum.state(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        }
        return save_checkpoint(self.run_dir, payload)

    def _restore(self, payload: dict) -> int:
        self.brain.load_state_dict(payload["brain"])
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.memory is not None and payload["memory"] is not None:
            self.memory.load_state_dict(payload["memory"])
        self.progress.episodes = payload["episodes"]
        self.progress.totals.update({task: list(v) for task, v in payload["totals"].items()})
        for task, window in payload["recent"].items():
            self.progress.recent[task].extend(window)
        torch.set_rng_state(payload["rng"]["torch"])
        np.random.set_state(payload["rng"]["numpy"])
        random.setstate(payload["rng"]["python"])
        self._resumed_generations = payload["generations"]
        if self.curriculum is not None and payload.get("curriculum") is not None:  # older checkpoints have none
            self.curriculum = RunCurriculum.from_state(payload["curriculum"])
        return payload["steps"]

    # --- workers ---------------------------------------------------------------------------------
    def _start_worker(self, rank: int) -> None:
        self.backend.start_worker(rank, self.generations[rank])
        self._updated[rank] = False

    def _restart_dead_workers(self, log) -> None:
        for rank, how in self.backend.dead_workers():
            if self.steps() >= self.cfg.steps:
                continue
            # a worker that crashes on every step (an invalid action) adds steps but never finishes a rollout
            self._fruitless[rank] = 0 if self._updated[rank] else self._fruitless[rank] + 1
            if self._fruitless[rank] >= MAX_FRUITLESS_RESTARTS:
                raise WorkerCrashLoop(
                    f"worker {rank} died {self._fruitless[rank]} times in a row before it finished a rollout "
                    f"({how}); the run stopped instead of restarting it again. "
                    + (f"Its last error:\n{self._last_traceback}" if self._last_traceback else
                       "It reported no Python error: look for a crash or the out-of-memory killer "
                       "(dmesg), or run with --workers 1"))
            log(f"worker {rank} died ({how}); restarting it")
            self.progress.restarts += 1
            self.generations[rank] += 1
            self._start_worker(rank)

    # --- the master loop -------------------------------------------------------------------------
    def train(self) -> Progress:
        """Train until ``cfg.steps``; Ctrl-C stops cleanly. Returns what happened."""
        if hasattr(self, "_resumed_generations"):
            self.generations = [g + 1 for g in self._resumed_generations[: self.cfg.workers]]
            self.generations += [0] * (self.cfg.workers - len(self.generations))
        self.recorder = self._start_recorder()
        writer = SummaryWriter(str(self.run_dir / "tb"))
        table = EpisodeTable(self.run_dir / "episodes.csv")
        bar = progress_display(self.cfg.steps, self.steps())
        started = time.time()
        next_checkpoint = self.steps() + self.cfg.checkpoint_every
        try:
            for rank in range(self.cfg.workers):
                self._start_worker(rank)
            while not self._done(started):
                self._drain_events(writer, table, bar)
                self._restart_dead_workers(bar.write)
                if not self.backend.any_alive():
                    break
                if self.recorder is not None:
                    self.recorder.check(bar.write)
                steps = self.steps()
                bar.update(self._status(steps))
                if steps >= next_checkpoint:
                    self.checkpoint()
                    next_checkpoint = steps + self.cfg.checkpoint_every
                writer.add_scalar("global/steps_per_s", bar.rates[1], steps)
        except KeyboardInterrupt:
            bar.write("interrupted: stopping workers and writing a final checkpoint")
        finally:
            self.backend.shutdown()
            if self.recorder is not None:
                self.recorder.close(bar.write)
            self._drain_events(writer, table, bar)
            bar.update(self._status(self.steps()))
            bar.close()
            self.checkpoint()
            writer.close()
            table.close()
        self.progress.steps = self.steps()
        return self.progress

    def _status(self, steps: int) -> Status:
        task = self.progress.current_task
        return Status(steps, self.progress.episodes, self.progress.success_rate(task), task,
                      len(self.progress.recent[task]))

    def _done(self, started: float) -> bool:
        """Step budget spent, time limit reached, the curriculum complete, or the success criterion met."""
        cfg, progress = self.cfg, self.progress
        if self.steps() >= cfg.steps or (self.curriculum is not None and self.curriculum.finished):
            return True
        if cfg.max_minutes and time.time() - started >= 60 * cfg.max_minutes:
            return True
        window = progress.recent[progress.current_task]
        return bool(cfg.until_success) and len(window) == WINDOW and progress.success_rate(
            progress.current_task) >= cfg.until_success

    def _drain_events(self, writer: SummaryWriter, table: EpisodeTable, bar) -> None:
        deadline = time.time() + 0.5
        while time.time() < deadline:
            events = self.backend.events(timeout=0.1)
            if not events:
                return
            for event in events:
                self._on_event(event, writer, table, bar)

    def _on_event(self, event: Event, writer: SummaryWriter, table: EpisodeTable, bar) -> None:
        step = self.steps()
        match event:
            case EpisodeEnded():
                self._record_episode(event, step, writer, table)
                if self.curriculum is not None:
                    self._advance_curriculum(event, step, writer, bar)
            case Updated(worker=worker, step=at, terms=terms):
                self.progress.updates += 1
                self._updated[worker] = True
                for name, value in terms.items():
                    writer.add_scalar(f"worker{worker}/{name}", value, at)
                    writer.add_scalar(f"global/{name}", value, at)
            case NonFiniteLoss(worker=worker, terms=terms):
                self.progress.nan_skipped += 1
                writer.add_scalar("global/nan_updates_skipped", self.progress.nan_skipped, step)
                bar.write(f"worker {worker}: non-finite loss, update skipped ({terms})")
            case WorkerFailed(worker=worker, traceback=error):
                self._last_traceback = error
                bar.write(f"worker {worker} crashed:\n{error}")
            case RecordingDropped() | RecordingFailed() if self.recorder is not None:
                self.recorder.on_event(event, bar.write)

    def _record_episode(self, episode: EpisodeEnded, step: int, writer: SummaryWriter, table: EpisodeTable) -> None:
        progress = self.progress
        progress.episodes += 1
        training = None if self.curriculum is None else self.curriculum.task  # a rehearsed task is not the current one
        progress.current_task = training or episode.task
        progress.recent[episode.task].append(int(episode.success))
        totals = progress.totals[episode.task]
        totals[0] += 1
        totals[1] += int(episode.success)
        table.append({**episode.row(), "time": round(time.time(), 3), "global_step": step})
        for prefix in ("global", f"worker{episode.worker}"):
            writer.add_scalar(f"{prefix}/episode/return", episode.ret, step)
            writer.add_scalar(f"{prefix}/episode/success", float(episode.success), step)
            writer.add_scalar(f"{prefix}/episode/length", episode.steps, step)
        writer.add_scalar(f"task/{episode.task}/success_rate", progress.success_rate(episode.task), step)

    def _advance_curriculum(self, episode: EpisodeEnded, step: int, writer: SummaryWriter, bar) -> None:
        """Book the episode in the run's curriculum; when it completes the task, move every worker on."""
        completion = self.curriculum.add(episode.task, episode.success, step)
        if completion is None:
            return
        append_completion(self.run_dir, completion)
        writer.add_scalar("curriculum/position", self.curriculum.position, step)
        following = self.curriculum.task
        self.backend.set_curriculum_position(self.curriculum.position)
        bar.write(f"curriculum: task {completion.task} complete after {completion.episodes} episodes, at step "
                  f"{completion.steps:,} ({completion.minutes:.1f} min); "
                  + (f"next: {following}" if following else "every task complete"))
