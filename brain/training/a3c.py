"""Asynchronous advantage actor-critic: the loss, term by term, and one worker's loop.

A worker owns one environment and a local copy of the brain. Each rollout it:

1. copies the global weights, and saves the recurrent state it starts from;
2. acts for ``t_max`` steps without gradients (policy = the connectome's ``policy:`` port);
3. replays the rollout as a sequence from the saved state, with gradients (the same graph);
4. computes the loss below, clips the global gradient norm, and pushes the gradients to the
   global parameters (:class:`ParameterServer`: the shared RMSProp in shared memory, Hogwild, for
   the local backend; the learner actor for the Ray backend, :mod:`brain.training.ray_backend`);
5. only then writes the rollout's (key, action, return) triples into the hippocampal memory:
   reverse replay, with returns computed backwards. Writing after the update keeps a rollout's
   own returns out of the memory read-out it is trained on (the 2017 label leak).

With recording on, the worker also copies each step's region activity of every k-th episode
into an :class:`~brain.recording.EpisodeBuffer`, with what the step read from the memory and, once
its rollout is learnt, what reverse replay wrote for it; it sends the episode whole at the end of
the rollout in which it ended.

Loss (means over the rollout's valid steps, never sums over T, never broadcast):
    policy  = -mean(log pi(a_t | s_t) * A_t)          A_t detached
    value   = value_coef * mean((R_t - V(s_t))^2)
    entropy = -entropy_coef * mean(H(pi(. | s_t)))
    aux     = sum_k aux_weight_k * loss_k             each region's teacher losses
"""

from __future__ import annotations

import contextlib
import os
import signal
import traceback
from dataclasses import dataclass
from typing import Mapping, Protocol

import numpy as np
import torch
from torch.distributions import Categorical

from brain.events import EpisodeEnded, NonFiniteLoss, RecordingDropped, Updated, WorkerFailed
from brain.recording import EpisodeBuffer, RecordingSink
from brain.recording.memory import places_of
from brain.training.acting import ActingStep, act, sample_actions
from brain.training.config import TrainConfig
from brain.training.curriculum import ORDER, follows_run_curriculum
from regions.base import TeacherInput


def advantages_and_returns(
    rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, bootstrap: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(lambda) advantages and the value targets, computed backwards over ``[T, B]``.

    ``dones[t]`` is 1 when the episode ended with step t (no bootstrapping across it).
    With ``lam = 1`` the value target is the plain n-step return of A3C.

    Example:
        >>> r = torch.tensor([[0.0], [1.0]]); v = torch.zeros(2, 1); d = torch.tensor([[0.0], [1.0]])
        >>> advantages_and_returns(r, v, d, torch.zeros(1), 0.5, 1.0)[1].squeeze(1).tolist()
        [0.5, 1.0]
    """
    values = values.detach()
    advantages = torch.zeros_like(rewards)
    next_value, next_advantage = bootstrap.detach(), torch.zeros_like(bootstrap)
    for t in reversed(range(rewards.shape[0])):
        live = 1.0 - dones[t]
        delta = rewards[t] + gamma * live * next_value - values[t]
        next_advantage = delta + gamma * lam * live * next_advantage
        advantages[t] = next_advantage
        next_value = values[t]
    return advantages, advantages + values


def a3c_loss(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    aux_losses: Mapping[str, torch.Tensor],
    aux_weights: Mapping[str, float],
    cfg: TrainConfig,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The total A3C loss over a rollout ``[T, B]`` and every term by name (for logging).

    ``aux_weights`` weighs each auxiliary loss by its name (``Brain.aux_weights``): every loss has one.
    """
    dist = Categorical(logits=logits)
    policy_loss = -(dist.log_prob(actions) * advantages.detach()).mean()
    value_loss = (returns.detach() - values).pow(2).mean()
    entropy = dist.entropy().mean()
    total = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
    terms = {"loss/policy": policy_loss.item(), "loss/value": value_loss.item(), "policy/entropy": entropy.item()}
    for name, loss in aux_losses.items():
        total = total + aux_weights[name] * loss
        terms[f"loss/{name}"] = loss.item()
    terms["loss/total"] = total.item()
    return total, terms


@dataclass
class Rollout:
    """What one rollout of N environments collected: time-major lists, one entry per step (rows = environments)."""

    observations: list[dict[str, torch.Tensor]]  # the ports, [N, ...] each
    resets: list[np.ndarray]  # [N] bool: the step started an episode
    actions: list[list[int]]
    rewards: list[np.ndarray]  # [N] reward received after the step's action
    dones: list[np.ndarray]  # [N] bool: the step ended its episode
    infos: list[list[dict]]  # [N] the environments' info of the step's observation (the teachers read it)
    recorded: list[list[tuple[EpisodeBuffer, int] | None]]  # [N] the buffer that recorded the step and its index

    @classmethod
    def empty(cls) -> "Rollout":
        return cls([], [], [], [], [], [], [])

    def append(self, step: ActingStep) -> None:
        self.observations.append(step.ports)
        self.resets.append(step.resets)
        self.actions.append(step.actions)
        self.rewards.append(step.rewards)
        self.dones.append(step.dones)
        self.infos.append(step.infos)
        self.recorded.append(step.recorded)


def stack_observations(observations: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """A list of per-step port mappings ``[B, ...]`` -> one mapping of ``[T, B, ...]``."""
    return {key: torch.stack([o[key] for o in observations]) for key in observations[0]}


class ParameterServer(Protocol):
    """Where a worker's weights come from and its gradients go: the backend's one transport of parameters."""

    def pull(self, brain: torch.nn.Module) -> None:
        """Load the latest global weights into the worker's local ``brain``."""

    def push(self, brain: torch.nn.Module) -> None:
        """Apply the gradients held by the local ``brain`` (clipped) to the global weights."""


class SharedParameters:
    """The local backend's parameter server: the global brain and RMSProp in shared memory (Hogwild)."""

    def __init__(self, brain: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.brain, self.optimizer = brain, optimizer

    def pull(self, brain: torch.nn.Module) -> None:
        copy_weights(self.brain, brain)

    def push(self, brain: torch.nn.Module) -> None:
        for shared, local in zip(self.brain.parameters(), brain.parameters()):
            shared.grad = None if local.grad is None else local.grad.to(shared.device)  # a no-op on the CPU
        self.optimizer.step()


class Worker:
    """One A3C worker: ``cfg.envs_per_worker`` environments, a local brain, rollout, update, reverse replay.

    The worker acts on its N environments at once (one ``Brain.step`` on a batch of N, the
    environments stepped in a loop) and trains on the rollout as one ``[T, N]`` pass; each
    environment keeps its own recurrent state row, episode, resets, recording and teacher signals.
    The backend supplies the transport: ``parameters`` (a :class:`ParameterServer`), ``memory``
    (the DND this worker reads and writes), ``counters`` (global steps, episode numbers),
    ``events`` (``put`` of :mod:`brain.events` for the master), ``stop`` (``is_set``) and ``recording``.
    """

    def __init__(self, rank: int, generation: int, cfg: TrainConfig, connectome_path: str,
                 parameters: ParameterServer, memory, counters, events, stop, recording: RecordingSink | None = None):
        self.rank, self.generation, self.cfg = rank, generation, cfg
        self.connectome_path = connectome_path
        self.parameters, self.memory = parameters, memory
        self.counters, self.events, self.stop = counters, events, stop
        self.recording = recording

    def run(self) -> None:
        """Process entry point: train until the step budget is spent or the master says stop."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master handles Ctrl-C and stops us cleanly
        torch.set_num_threads(1)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            self._train()
        except Exception:  # report, then die: the master restarts us
            self.events.put(WorkerFailed(self.rank, traceback.format_exc()))
            raise

    # --- setup ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        from brain.engine import Brain
        from brain.training.environment import environment_batch

        cfg, n = self.cfg, self.cfg.envs_per_worker
        self.seed = seed = hash((cfg.seed, self.rank, self.generation)) % (2**31)
        torch.manual_seed(seed)
        self.device = torch.device(cfg.device)
        self.brain = Brain.from_connectome(self.connectome_path).to(self.device)
        self.brain.train()
        attach_memory(self.brain, self.memory)
        # Unity: environment i of worker r talks to its own player, worker id r * n + i.
        self.envs = environment_batch(cfg, self.brain.input_shapes, seed, self.rank * n, n, cfg.device,
                                      self._curriculum_task())
        self.state = self.brain.initial_state(n, self.device)
        self.episode_returns, self.episode_steps = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.episodes_begun = 0
        self.rehearsal_rng = np.random.default_rng(seed)
        self.episode_buffers = [self._begin_episode() for _ in range(n)]
        self.ended: list[tuple[EpisodeBuffer, dict]] = []  # recorded episodes to send once their rollout is learnt

    # --- the loop ------------------------------------------------------------------------------
    def _train(self) -> None:
        self._setup()
        master = os.getppid()  # a worker whose master died (SIGKILL) is re-parented: it stops, not trains on
        try:
            while not self.stop.is_set() and self.counters.steps() < self.cfg.steps and os.getppid() == master:
                self.rollout()
        finally:  # a Unity environment's process goes with its worker (atexit does not run in workers)
            self.envs.close()

    def rollout(self) -> None:
        """One rollout: pull the global weights, act ``t_max`` steps, learn from them, write the memory."""
        self.parameters.pull(self.brain)
        start_state = {k: v.detach().clone() for k, v in self.state.items()}
        # the training pass reads the memory with the acting keys: remember every search of the rollout
        with reusing_searches(self.memory, (self.cfg.t_max + 1) * len(self.envs)):
            self._learn(self._act(), start_state)
        self._send_recorded()

    @torch.inference_mode()  # cheaper than no_grad; what acting produces is only read (copied) by the training pass
    def _act(self) -> Rollout:
        rollout = Rollout.empty()
        for _ in range(self.cfg.t_max):
            step, self.state = act(self.brain, self.envs, self.state, sample_actions, self.episode_buffers)
            rollout.append(step)
            self.episode_returns += step.rewards
            self.episode_steps += 1
            self.counters.add_steps(len(self.envs))
            for index in np.flatnonzero(step.dones):
                self._end_episode(int(index))
        return rollout

    def _end_episode(self, index: int) -> None:
        """Report environment ``index``'s finished episode, keep its recording to send, and start its next one."""
        number = self.counters.next_episode()
        info = self.envs.infos[index]
        success = bool(info.get("success", False))
        self.events.put(EpisodeEnded(self.rank, index, info["task"], int(self.episode_steps[index]),
                                     float(self.episode_returns[index]), success, int(info.get("ticks", 0))))
        buffer = self.episode_buffers[index]
        if buffer is not None:
            self.ended.append((buffer, dict(episode=number, worker=self.rank, env=index, task=info["task"],
                                            success=success, global_step=self.counters.steps())))
        task = self._next_task()
        if task is not None and task != info["task"]:  # the run moved on, or rehearses: another task here
            self.envs.replace(index, self._environment(task), hash((self.seed, index, task)) % (2**31))
        else:
            self.envs.reset(index)
        self.episode_returns[index], self.episode_steps[index] = 0.0, 0
        self.episode_buffers[index] = self._begin_episode()

    def _next_task(self) -> str | None:
        """The task of an environment's next episode: the curriculum's, or with probability ``rehearsal`` one of
        the tasks the run completed before it (interleaved rehearsal); None without a curriculum."""
        task = self._curriculum_task()
        completed = ORDER[:ORDER.index(task)] if task is not None else ()
        if completed and self.rehearsal_rng.random() < self.cfg.rehearsal:
            return completed[self.rehearsal_rng.integers(len(completed))]
        return task

    def _send_recorded(self) -> None:
        """Send the recorded episodes that ended in the rollout just learnt (its memory writes are in them)."""
        for buffer, row in self.ended:
            if not self.recording.send(buffer.finish(**row)):
                self.events.put(RecordingDropped(self.rank))
        self.ended = []

    def _curriculum_task(self) -> str | None:
        """The task of the run's curriculum position (:mod:`brain.training.curriculum`); None without one."""
        if not follows_run_curriculum(self.cfg):
            return None
        return ORDER[min(self.counters.curriculum_position(), len(ORDER) - 1)]

    def _environment(self, task: str):
        from brain.training.environment import ConnectomeInputs, make_environment

        return ConnectomeInputs(make_environment(self.cfg, self.brain.input_shapes, task=task),
                                tuple(self.brain.input_shapes))

    def _begin_episode(self) -> EpisodeBuffer | None:
        """A buffer when the episode starting now is recorded (every ``record_every``-th of this worker)."""
        buffer = None if self.recording is None else self.recording.start_episode(self.episodes_begun)
        self.episodes_begun += 1
        return buffer

    def _learn(self, rollout: Rollout, start_state: dict[str, torch.Tensor]) -> None:
        cfg, device = self.cfg, self.device
        # Replay T + 1 observations: the last one only supplies the bootstrap value V(s_T).
        observations = stack_observations(rollout.observations + [self.envs.ports()])
        resets = torch.from_numpy(np.stack(rollout.resets + [self.envs.starts])).to(device)
        seq = self.brain.rollout(observations, start_state, resets)
        T = cfg.t_max
        logits, values = seq.logits[:T], seq.value[:T]
        rewards = torch.from_numpy(np.stack(rollout.rewards)).to(device)
        dones = torch.from_numpy(np.stack(rollout.dones)).to(device, torch.float32)
        actions = torch.tensor(rollout.actions, device=device)
        advantages, returns = advantages_and_returns(rewards, values, dones, seq.value[T].detach(), cfg.gamma,
                                                     cfg.gae_lambda)
        activity = {name: tensor[:T] for name, tensor in seq.activity.items()}
        aux = self.brain.auxiliary_losses(activity, self._targets(rollout))
        loss, terms = a3c_loss(logits, values, actions, advantages, returns, aux, self.brain.aux_weights, cfg)
        if not torch.isfinite(loss):
            self.events.put(NonFiniteLoss(self.rank, terms))
            return
        self.brain.zero_grad(set_to_none=True)
        loss.backward()
        terms["grad/norm"] = float(torch.nn.utils.clip_grad_norm_(self.brain.parameters(), cfg.max_grad_norm))
        self.parameters.push(self.brain)
        self._reverse_replay(activity, actions, returns, rollout)
        terms["memory/occupancy"] = float(sum(self.memory.occupancy())) if self.memory is not None else 0.0
        self.events.put(Updated(self.rank, self.counters.steps(), terms))

    def _targets(self, rollout: Rollout) -> dict[str, torch.Tensor]:
        targets = self.brain.teacher_targets(TeacherInput(rollout.infos, np.stack(rollout.rewards)))
        return {key: value.to(self.device) for key, value in targets.items()}

    def _reverse_replay(self, activity: dict[str, torch.Tensor], actions: torch.Tensor, returns: torch.Tensor,
                        rollout: Rollout) -> None:
        """Write each step's (memory key, action taken, return) into the hippocampal DND, after the update, with
        the place of the step's observation; tell the recorded steps what was written."""
        keys = activity.get(f"{self.memory_region}.key") if self.memory is not None else None
        if keys is None:
            return
        returns = returns.detach().reshape(-1).cpu()
        ids = self.memory.write(keys.detach().reshape(-1, keys.shape[-1]).cpu(), actions.reshape(-1).cpu(), returns,
                                places_of(rollout.infos))
        recorded = [row for step in rollout.recorded for row in step]  # time-major, as the rows written
        for row, value, entry in zip(recorded, returns.tolist(), ids.tolist()):
            if row is not None and row[0].memory is not None:
                row[0].memory.written(row[1], value, entry)

    @property
    def memory_region(self) -> str | None:
        return memory_region_name(self.brain)


def copy_weights(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Copy every parameter and buffer of ``source`` into ``target`` (same architecture) in one fused kernel.

    ``load_state_dict`` does the same tensor by tensor with key checks; this runs before every rollout.
    """
    with torch.no_grad():
        torch._foreach_copy_([*target.parameters(), *target.buffers()], [*source.parameters(), *source.buffers()])


def reusing_searches(memory, size: int) -> contextlib.AbstractContextManager:
    """``memory.reusing_searches(size)``, or nothing to do for a brain without an episodic memory."""
    return contextlib.nullcontext() if memory is None else memory.reusing_searches(size)


def memory_region_name(brain) -> str | None:
    """Name of the region that holds the episodic memory (``holds_memory``), if any."""
    for name, region in brain.regions.items():
        if region.holds_memory:
            return name
    return None


def attach_memory(brain, memory) -> None:
    """Point the brain's memory region at the shared DND (each worker's copy reads the same memory)."""
    name = memory_region_name(brain)
    if name is not None and memory is not None:
        brain.regions[name].attach_memory(memory)


def worker_main(*args) -> None:
    """``multiprocessing`` target (a module-level function, as the spawn start method needs)."""
    Worker(*args).run()
