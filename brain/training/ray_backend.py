"""The Ray backend: A3C workers as Ray actors, the global brain in a learner actor.

``python -m brain.run --backend ray [--address ADDR]`` runs the same master (:class:`~brain.training.trainer.Trainer`:
progress bar, TensorBoard, episode table, checkpoints, restarts) over this transport:

* :class:`Learner`, one actor on the driver's node: the global brain, the RMSProp statistics
  (:class:`~brain.training.optim.SharedRMSprop`, same hyperparameters), the global DND, the step and
  episode counters and the workers' events. Its methods run one at a time, so pushed gradients
  are applied one by one as they arrive; no worker ever waits for another one's rollout.
* :class:`WorkerActor`, one per worker, anywhere in the cluster: runs the unchanged
  :class:`~brain.training.a3c.Worker` loop with its own environment and local brain, through a
  :class:`LearnerLink`. Each rollout costs the worker one round trip: it pushes its gradients
  (with the steps it took, its events and its new memory writes) and the reply, the latest
  weights, is what it pulls at the start of its next rollout; the worker does its reverse
  replay while the learner applies the update.
* Memory: every worker keeps a private copy of the DND (:class:`SyncedDND`) and looks up
  locally; its reverse-replay writes go to the learner with its next push, and each reply
  brings the other workers' writes since the last one (merged every rollout). A copy therefore
  lags the global memory by about one rollout of each other worker. The alternative, one memory
  actor answering every lookup, costs a round trip per environment step and per replay
  (``benchmarks/ray_overhead.py`` measures both; ``docs/training.md``, "Ray backend").
* Recording: workers send recorded episodes to a Ray queue on the driver's node; a thread of
  the driver hands them to the same recording writer process as the local backend.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import socket
import tempfile
import threading
import time
import warnings
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch
from ray.exceptions import RayActorError, RayTaskError
from ray.util.queue import Queue as RayQueue
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from brain.events import Event, RecordingDropped, WorkerFailed
from brain.recording import Recorder, RecordingSink, RecordingSpec
from brain.recording.writer import QUEUE_EPISODES
from brain.training import a3c
from brain.training.backend import BackendError
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
from regions.dnd import DND

#: Memory write batches (one per rollout) the learner keeps for workers that catch up; a worker
#: further behind than this reloads the whole memory.
LOG_BATCHES = 4096
#: Seconds the driver waits for a Ray head at ``--address HOST:PORT`` before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds the master waits for the workers to finish their rollout when the run stops.
STOP_TIMEOUT = 30.0


def connect(address: str, workers: int) -> None:
    """Join the Ray cluster at ``address`` (``auto``, ``HOST:PORT``) or start a private one with a CPU per worker.

    Raises :class:`BackendError` naming ``--address`` when no cluster answers there.
    """
    if address and address != "auto":
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
        except (OSError, ValueError) as error:
            raise BackendError(f"--address {address}: no Ray head answers there ({error}); start one on the head "
                               f"node with 'ray start --head --port=PORT', or drop --address to run Ray on this "
                               f"machine") from None
    if ray.is_initialized():  # a caller (tests, a notebook) already chose the cluster
        return
    try:
        ray.init(logging_level=logging.WARNING,
                 **({"address": address} if address else {"num_cpus": workers, "include_dashboard": False}))
    except ConnectionError as error:
        reason = str(error).rstrip(".")
        raise BackendError(f"--address {address}: {reason}. Start a cluster with 'ray start --head', "
                           f"or drop --address to run Ray on this machine") from None


def _arrays(tensors: list[torch.Tensor | None]) -> list[np.ndarray | None]:
    """Tensors as numpy arrays for the wire: Ray moves numpy about 4x faster than torch tensors (measured)."""
    return [None if tensor is None else tensor.detach().cpu().numpy() for tensor in tensors]


def _tensors(arrays: list[np.ndarray | None]) -> list[torch.Tensor | None]:
    """Back to tensors without a copy; Ray's arrays are read-only, and these are only ever read."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return [None if array is None else torch.from_numpy(array) for array in arrays]


def _driver_node() -> NodeAffinitySchedulingStrategy:
    """Pin an actor to the driver's node: the learner and the recording queue live beside the run directory."""
    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


def _connectome_file(directory: str, text: str) -> str:
    """Write the resolved connectome where a (possibly remote) actor can build the brain from it."""
    path = Path(directory) / "connectome.yaml"
    path.write_text(text)
    return str(path)


#: One memory write as it travels between a worker's copy and the learner: keys, actions, values, places.
Write = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


class SyncedDND(DND):
    """A worker's copy of the global memory: looked up locally; its own writes also wait for the learner."""

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.outbox: list[Write] = []

    def write(self, keys: torch.Tensor, actions: torch.Tensor, values: torch.Tensor,
              places: torch.Tensor | None = None) -> torch.Tensor:
        """Write locally (the ids are this copy's) and queue the write for the learner."""
        ids = super().write(keys, actions, values, places)
        self.outbox.append((keys.detach().cpu(), actions.detach().cpu(), values.detach().cpu(),
                            None if places is None else places.detach().cpu()))
        return ids

    def merge(self, batches: list[Write]) -> None:
        """Apply other workers' writes (not queued again)."""
        for write in batches:
            super().write(*write)

    def take_outbox(self) -> list[Write]:
        batches, self.outbox = self.outbox, []
        return batches


@ray.remote(num_cpus=0)
class Learner:
    """The parameter server: global brain, RMSProp, DND, counters and the events waiting for the master."""

    def __init__(self, cfg: TrainConfig, connectome: str, state: dict, steps: int, episodes: int):
        from brain.engine import Brain

        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            self.brain = Brain.from_connectome(_connectome_file(tmp, connectome))
        self.brain.load_state_dict(state["brain"])
        self.optimizer = SharedRMSprop(self.brain.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
        self.optimizer.load_state_dict(state["optimizer"])
        name = a3c.memory_region_name(self.brain)
        self.memory_params = None if name is None else dict(self.brain.regions[name].memory_params)
        self.memory = None if name is None else self.brain.regions[name].make_memory()
        if self.memory is not None and state["memory"] is not None:
            self.memory.load_state_dict(state["memory"])
        self.steps, self.episodes = steps, episodes
        self.events: list[Event] = []
        self.writes: deque = deque(maxlen=LOG_BATCHES)  # (sequence number, rank, Write)
        self.sequence = 0
        self.stop, self.recording = False, True
        self.curriculum_position = 0

    def join(self, rank: int) -> dict:
        """What a new worker starts from: the memory's configuration and contents, and a reply."""
        memory = None if self.memory is None else self.memory.state_dict()
        return {"memory_params": self.memory_params, "memory": memory, **self._reply(rank, self.sequence)}

    def push(self, rank: int, grads: list[np.ndarray | None] | None, steps: int, events: list, writes: list,
             seen: int) -> dict:
        """Apply one worker's clipped gradients (None: nothing to apply) and take its news; reply with the latest."""
        self.steps += steps
        self.events.extend(events)
        if grads is not None:
            for parameter, grad in zip(self.brain.parameters(), _tensors(grads)):
                parameter.grad = grad
            self.optimizer.step()
        for write in writes:
            self.memory.write(*write)
            self.sequence += 1
            self.writes.append((self.sequence, rank, write))
        return self._reply(rank, seen)

    def _reply(self, rank: int, seen: int) -> dict:
        """Latest weights, counters, flags and the memory writes of other workers after ``seen``."""
        reply = {"weights": _arrays(list(self.brain.state_dict().values())), "steps": self.steps, "stop": self.stop,
                 "curriculum_position": self.curriculum_position, "recording": self.recording, "sequence": self.sequence, "writes": [], "reload": None}
        if self.memory is None or seen == self.sequence:
            return reply
        oldest = self.writes[0][0]
        if seen < oldest - 1:  # fell behind the log: the whole memory instead
            reply["reload"] = self.memory.state_dict()
            return reply
        reply["writes"] = [write for _, writer, write in itertools.islice(self.writes, seen - oldest + 1, None)
                           if writer != rank]
        return reply

    def next_episode(self) -> int:
        """A run-wide number for an episode that just ended."""
        self.episodes += 1
        return self.episodes - 1

    def collect(self) -> tuple[list[Event], int]:
        """The events that arrived since the last call, and the global steps."""
        events, self.events = self.events, []
        return events, self.steps

    def state(self) -> dict:
        return {"brain": self.brain.state_dict(), "optimizer": self.optimizer.state_dict(),
                "memory": None if self.memory is None else self.memory.state_dict()}

    def request_stop(self) -> None:
        self.stop = True

    def set_curriculum_position(self, position: int) -> None:
        self.curriculum_position = position

    def stop_recording(self) -> None:
        self.recording = False


class LearnerLink:
    """A worker's end of the learner, in the four roles :class:`~brain.training.a3c.Worker` needs.

    Parameter server (``pull``, ``push``), counters (``steps``, ``add_steps``, ``next_episode``,
    ``curriculum_position``),
    events (``put``) and stop flag (``is_set``): steps and events are sent with the next push.
    """

    def __init__(self, learner, rank: int, accepting: threading.Event):
        self.learner, self.rank, self.accepting = learner, rank, accepting
        joined = ray.get(learner.join.remote(rank))
        params = joined["memory_params"]
        self.memory = None if params is None else SyncedDND(**params)
        if self.memory is not None:
            self.memory.load_state_dict(joined["memory"])
        self._events: list[Event] = []
        self._pending_steps = 0
        self._apply(joined)

    # --- parameter server ----------------------------------------------------------------------
    def pull(self, brain: torch.nn.Module) -> None:
        if self._reply is None:
            if self._request is None:  # no push since the last pull (a skipped update): ask anyway
                self._send(None)
            self._apply(ray.get(self._request))
        brain.load_state_dict(dict(zip(brain.state_dict(), _tensors(self._reply["weights"]))))
        self._reply = None

    def push(self, brain: torch.nn.Module) -> None:
        self._send(_arrays([p.grad for p in brain.parameters()]))

    def _send(self, grads: list[np.ndarray | None] | None) -> None:
        if self._request is not None:  # one request in flight at a time: take the previous reply first
            self._apply(ray.get(self._request))
        writes = [] if self.memory is None else self.memory.take_outbox()
        self._reply = None  # superseded by the reply to this request
        self._request = self.learner.push.remote(self.rank, grads, self._pending_steps, self._events, writes,
                                                 self._sequence)
        self._in_flight, self._pending_steps, self._events = self._pending_steps, 0, []

    def _apply(self, reply: dict) -> None:
        self._request, self._reply = None, reply
        self._global_steps, self._in_flight, self._stop = reply["steps"], 0, reply["stop"]
        self._curriculum_position = reply["curriculum_position"]
        self._sequence = reply["sequence"]
        self.accepting.set() if reply["recording"] else self.accepting.clear()
        if self.memory is not None:
            if reply["reload"] is not None:
                self.memory.load_state_dict(reply["reload"])
            self.memory.merge(reply["writes"])

    def flush(self) -> None:
        """Send what is still pending (steps, events, memory writes) and wait for the learner to take it."""
        self._send(None)
        self._apply(ray.get(self._request))

    # --- counters, events, stop flag -------------------------------------------------------------
    def steps(self) -> int:
        return self._global_steps + self._in_flight + self._pending_steps

    def add_steps(self, n: int) -> None:
        self._pending_steps += n

    def next_episode(self) -> int:
        return ray.get(self.learner.next_episode.remote())

    def curriculum_position(self) -> int:
        """The run's curriculum position as of the latest reply (it moves at most once a rollout here)."""
        return self._curriculum_position

    def put(self, event: Event) -> None:
        """Queue an event for the next push; not a crash's, which the driver takes from Ray's error (see
        :meth:`RayBackend.dead_workers`) as it does errors raised before the worker loop ran."""
        if not isinstance(event, WorkerFailed):
            self._events.append(event)

    def is_set(self) -> bool:
        return self._stop


@ray.remote(num_cpus=1, max_restarts=0)
class WorkerActor:
    """One A3C worker: the :class:`~brain.training.a3c.Worker` loop with its own environment and local brain."""

    def run(self, rank: int, generation: int, cfg: TrainConfig, connectome: str, learner,
            recording: tuple[RayQueue, int, tuple[str, ...], int] | None) -> None:
        accepting = threading.Event()
        link = LearnerLink(learner, rank, accepting)
        sink = None if recording is None else RecordingSink(recording[0], accepting, *recording[1:])
        with tempfile.TemporaryDirectory() as tmp:
            worker = a3c.Worker(rank, generation, cfg, _connectome_file(tmp, connectome), link, link.memory, link,
                                link, link, sink)
            try:
                worker.run()
            finally:
                link.flush()  # a crashing worker's last steps and events travel too


class RecordingRelay(threading.Thread):
    """Driver thread: recorded episodes from the workers' Ray queue to the local recording writer."""

    def __init__(self, records: RayQueue, recorder: Recorder, events: multiprocessing.Queue, learner):
        super().__init__(name="recording-relay", daemon=True)
        self.records, self.recorder, self.events, self.learner = records, recorder, events, learner
        self.finish = threading.Event()

    def run(self) -> None:
        told = False
        while True:
            try:
                record = self.records.get(timeout=0.5)
            except queue.Empty:
                if self.finish.is_set():
                    return
                continue
            if not self.recorder.sink.accepting.is_set():
                if not told:  # the writer failed: workers stop recording with their next reply
                    self.learner.stop_recording.remote()
                    told = True
            elif not self.recorder.sink.send(record):
                self.events.put(RecordingDropped(record.worker))


class RayBackend:
    """Workers as Ray actors around one :class:`Learner` (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, connectome_path: Path, brain, optimizer: SharedRMSprop, memory,
                 steps: int, episodes: int):
        self.cfg = cfg
        self.connectome = Path(connectome_path).read_text()
        state = {"brain": brain.state_dict(), "optimizer": optimizer.state_dict(),
                 "memory": None if memory is None else memory.state_dict()}
        self.learner = Learner.options(scheduling_strategy=_driver_node()).remote(cfg, self.connectome, state,
                                                                                  steps, episodes)
        self.actors: list = [None] * cfg.workers
        self.runs: list = [None] * cfg.workers  # each actor's pending ``run``; None once it returned normally
        self._steps = steps
        self._stopping = False
        self.local_events = multiprocessing.get_context("spawn").Queue()  # the recording writer's reports
        self.recording: tuple[RayQueue, int, tuple[str, ...], int] | None = None
        self.relay: RecordingRelay | None = None

    def start_worker(self, rank: int, generation: int) -> None:
        if self.actors[rank] is not None:
            ray.kill(self.actors[rank])  # a worker whose run raised is still alive: free its CPU
        self.actors[rank] = WorkerActor.remote()
        self.runs[rank] = self.actors[rank].run.remote(rank, generation, self.cfg, self.connectome, self.learner,
                                                       self.recording)

    def dead_workers(self) -> list[tuple[int, str]]:
        if self._stopping:
            return []
        pending = [ref for ref in self.runs if ref is not None]
        ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
        dead = []
        for ref in ready:
            rank = self.runs.index(ref)
            try:
                ray.get(ref)
                self.runs[rank] = None  # finished its share of the steps
            except RayTaskError as error:  # with the remote traceback, like a local worker's error event
                self.local_events.put(WorkerFailed(rank, str(error)))
                dead.append((rank, f"raised {type(error.cause).__name__}"))
            except RayActorError as error:
                dead.append((rank, f"actor died: {str(error).splitlines()[0]}"))
        return dead

    def any_alive(self) -> bool:
        return any(ref is not None for ref in self.runs)

    def steps(self) -> int:
        return self._steps

    def set_curriculum_position(self, position: int) -> None:
        ray.get(self.learner.set_curriculum_position.remote(position))

    def events(self, timeout: float) -> list[Event]:
        events, self._steps = ray.get(self.learner.collect.remote())
        while True:
            try:
                events.append(self.local_events.get_nowait())
            except queue.Empty:
                break
        if not events:
            time.sleep(timeout)
        return events

    def open_recorder(self, path: Path, spec: RecordingSpec) -> Recorder:
        cfg = self.cfg
        recorder = Recorder(multiprocessing.get_context("spawn"), path, spec, cfg.record_every, self.local_events,
                            cfg.record_flush_seconds)
        records = RayQueue(maxsize=QUEUE_EPISODES, actor_options={"num_cpus": 0, "scheduling_strategy": _driver_node()})
        self.recording = (records, cfg.record_every, spec.buffered_keys, spec.memory)
        self.relay = RecordingRelay(records, recorder, self.local_events, self.learner)
        self.relay.start()
        return recorder

    def state(self) -> dict:
        return ray.get(self.learner.state.remote())

    def request_stop(self) -> None:
        self.learner.request_stop.remote()

    def shutdown(self) -> None:
        """Stop the workers after their rollout (killing those that do not finish), then the relay."""
        self._stopping = True
        self.request_stop()
        pending = [ref for ref in self.runs if ref is not None]
        ray.wait(pending, num_returns=len(pending), timeout=STOP_TIMEOUT)
        for actor in self.actors:
            if actor is not None:
                ray.kill(actor)
        if self.relay is not None:
            self.relay.finish.set()
            self.relay.join()
