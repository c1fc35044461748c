"""A worker with N environments is N classic workers batched: same actions, losses and gradients."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from brain.engine import Brain
from brain.events import Event, Updated
from brain.training import a3c
from brain.training.acting import EnvironmentBatch, env_seeds
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.environment import ConnectomeInputs, make_environment
from brain.training.optim import SharedRMSprop

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")
N = 3


def make_worker(tmp_path: Path, shared: Brain, envs_per_worker: int) -> a3c.Worker:
    """A worker in this process on ``shared``'s weights, with a memory of its own (empty) and no clipping."""
    cfg = TrainConfig(connectome=TINY, task="1-1", workers=1, steps=10**6, seed=5, out=str(tmp_path), t_max=30,
                      envs_per_worker=envs_per_worker, max_grad_norm=1e9)
    optimizer = SharedRMSprop(shared.parameters(), lr=cfg.lr)
    worker = a3c.Worker(0, 0, cfg, TINY, a3c.SharedParameters(shared, optimizer),
                        shared.regions["hippocampus"].make_memory(), Counters(mp.get_context("spawn")), queue.Queue(),
                        threading.Event())
    worker._setup()
    worker.brain.regions["entorhinal"].dropout.p = 0.0  # dropout draws differ between a batch and its rows
    return worker


def one_rollout(worker: a3c.Worker, monkeypatch, actions: list[list[int]] | None = None) -> dict:
    """Act and learn once; the gradients, loss terms, acting logits and resets it produced (nothing is applied)."""
    grads: list[list[torch.Tensor]] = []
    monkeypatch.setattr(worker.parameters, "push", lambda brain: grads.append(
        [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in brain.parameters()]))
    logits, resets = [], []
    step = worker.brain.step

    def recording_step(obs, state, reset):
        resets.append(torch.zeros(len(worker.envs), dtype=torch.bool) if reset is None else reset.clone())
        out, state = step(obs, state, reset)
        logits.append(out.logits.clone())
        return out, state

    monkeypatch.setattr(worker.brain, "step", recording_step)
    if actions is not None:  # replay given actions instead of sampling
        replay = iter(actions)
        monkeypatch.setattr(a3c, "sample_actions", lambda _: next(replay))
    worker.parameters.pull(worker.brain)
    start_state = {k: v.clone() for k, v in worker.state.items()}
    rollout = worker._act()
    worker._learn(rollout, start_state)
    updates = [event.terms for event in drain(worker.events) if isinstance(event, Updated)]
    return {"grads": grads[0], "terms": updates[0], "logits": torch.stack(logits), "resets": torch.stack(resets),
            "actions": rollout.actions, "dones": np.stack(rollout.dones)}


def drain(events: queue.Queue) -> list[Event]:
    items = []
    while not events.empty():
        items.append(events.get_nowait())
    return items


@pytest.fixture
def batched_and_single(tmp_path: Path, monkeypatch):
    torch.manual_seed(0)
    shared = Brain.from_connectome(TINY)
    batched = make_worker(tmp_path, shared, N)
    result = one_rollout(batched, monkeypatch)
    seeds = env_seeds(batched.seed, N)
    singles = []
    for index in range(N):
        single = make_worker(tmp_path, shared, 1)
        single.envs.close()
        shapes = single.brain.input_shapes
        single.envs = EnvironmentBatch([ConnectomeInputs(make_environment(single.cfg, shapes), tuple(shapes))],
                                       [seeds[index]])
        with monkeypatch.context() as patch:
            singles.append(one_rollout(single, patch, [[row[index]] for row in result["actions"]]))
    return result, singles


def test_episodes_end_at_different_steps_inside_the_rollout(batched_and_single):
    batched, _ = batched_and_single
    ends = [tuple(np.flatnonzero(batched["dones"][:, index])) for index in range(N)]
    assert all(ends), f"every environment should finish an episode within the rollout: {ends}"
    assert len(set(ends)) == N, f"the environments' episodes should end at different steps: {ends}"


def test_each_row_acts_as_a_worker_of_one_environment_would(batched_and_single):
    batched, singles = batched_and_single
    for index, single in enumerate(singles):
        torch.testing.assert_close(batched["logits"][:, index], single["logits"][:, 0], atol=1e-5, rtol=1e-4)


def test_resets_reach_only_the_environment_whose_episode_ended(batched_and_single):
    batched, singles = batched_and_single
    dones = torch.from_numpy(batched["dones"])
    expected = torch.cat([torch.ones(1, N, dtype=torch.bool), dones[:-1]])  # the step after an end resets
    assert torch.equal(batched["resets"], expected)
    for index, single in enumerate(singles):
        assert torch.equal(single["resets"][:, 0], expected[:, index])


def test_the_batched_loss_and_gradients_are_the_means_of_the_single_workers(batched_and_single):
    batched, singles = batched_and_single
    for term in ("loss/policy", "loss/value", "policy/entropy", "loss/total", "loss/amygdala/reward",
                 "loss/entorhinal/head_direction", "loss/ca1/place_cells"):
        mean = np.mean([single["terms"][term] for single in singles])
        assert batched["terms"][term] == pytest.approx(mean, rel=1e-4, abs=1e-6), term
    for position, grad in enumerate(batched["grads"]):
        mean = torch.stack([single["grads"][position] for single in singles]).mean(0)
        torch.testing.assert_close(grad, mean, atol=1e-6, rtol=1e-3)
