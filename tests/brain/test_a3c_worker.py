"""One A3C worker in-process: the 2017 agent's rollout bugs stay fixed (LEGACY_AGENT.md, bugs 3 and 9)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from brain.engine import Brain
from brain.events import NonFiniteLoss, Updated
from brain.training import a3c
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop

TINY = str(Path(__file__).parent / "data" / "tiny.yaml")


@pytest.fixture
def worker(tmp_path: Path) -> a3c.Worker:
    torch.manual_seed(0)
    cfg = TrainConfig(connectome=TINY, task="1-3", workers=1, steps=10**6, seed=5, out=str(tmp_path), t_max=8,
                      envs_per_worker=1)
    shared = Brain.from_connectome(TINY)
    memory = shared.regions["hippocampus"].make_memory()
    a3c.attach_memory(shared, memory)
    optimizer = SharedRMSprop(shared.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
    counters = Counters(mp.get_context("spawn"))
    worker = a3c.Worker(0, 0, cfg, TINY, a3c.SharedParameters(shared, optimizer), memory, counters, queue.Queue(),
                        threading.Event())
    worker._setup()
    return worker


def test_the_training_pass_replays_the_rollout_from_its_saved_recurrent_state(worker, monkeypatch):
    acted, replayed = [], []
    step, rollout = worker.brain.step, worker.brain.rollout
    monkeypatch.setattr(worker.brain, "step", lambda *a: acted.append(step(*a)) or acted[-1])
    monkeypatch.setattr(worker.brain, "rollout", lambda *a: replayed.append(rollout(*a)) or replayed[-1])
    for _ in range(3):  # later rollouts start mid-episode, from a non-zero recurrent state
        worker.parameters.pull(worker.brain)
        start_state = {k: v.detach().clone() for k, v in worker.state.items()}
        acted.clear()
        worker._learn(worker._act(), start_state)
    assert any(v.abs().sum() > 0 for v in start_state.values())
    acting_logits = torch.cat([out.logits for out, _ in acted])
    torch.testing.assert_close(replayed[-1].logits[:len(acted), 0], acting_logits)


def test_the_training_pass_reuses_the_memory_searches_of_acting(worker, monkeypatch):
    """Only the bootstrap observation's key is new to the replay: the others were searched while acting."""
    memory = worker.memory
    generator = torch.Generator().manual_seed(0)
    memory.write(torch.randn(30, memory.key_size, generator=generator), torch.arange(30) % memory.n_actions,
                 torch.randn(30, generator=generator))  # every action holds k entries
    searched = []
    exact = worker.memory._searcher
    search = exact.search
    monkeypatch.setattr(exact, "search", lambda action, q, n, k: searched.append((torch.is_grad_enabled(), len(q)))
                        or search(action, q, n, k))
    for _ in range(3):
        searched.clear()
        worker.rollout()
    actions, t_max = worker.memory.n_actions, worker.cfg.t_max
    assert [size for grad, size in searched if not grad] == [1] * (t_max * actions)
    assert [size for grad, size in searched if grad] == [1] * actions


def test_memory_is_written_after_the_update_never_before(worker, monkeypatch):
    occupancy_at_update = []
    optimizer = worker.parameters.optimizer
    apply = optimizer.step
    monkeypatch.setattr(optimizer, "step", lambda: occupancy_at_update.append(sum(worker.memory.occupancy())) or apply())
    start_state = {k: v.clone() for k, v in worker.state.items()}
    worker.parameters.pull(worker.brain)
    before = sum(worker.memory.occupancy())
    worker._learn(worker._act(), start_state)
    assert occupancy_at_update == [before], "the rollout's returns reached the memory before its own update"
    assert sum(worker.memory.occupancy()) == before + worker.cfg.t_max  # reverse replay: one entry per step


def test_every_update_reports_each_loss_term_entropy_and_memory_occupancy(worker):
    start_state = {k: v.clone() for k, v in worker.state.items()}
    worker.parameters.pull(worker.brain)
    worker._learn(worker._act(), start_state)
    event = worker.events.get_nowait()
    while not isinstance(event, Updated):
        event = worker.events.get_nowait()
    terms = event.terms
    expected = {"loss/policy", "loss/value", "loss/total", "policy/entropy", "grad/norm", "memory/occupancy",
                "loss/entorhinal/head_direction", "loss/entorhinal/place_cells", "loss/ca1/place_cells",
                "loss/amygdala/reward"}
    assert expected <= set(terms), sorted(expected - set(terms))
    assert event.worker == 0 and all(torch.isfinite(torch.tensor(terms[k])) for k in expected)


def test_the_update_changes_the_shared_weights(worker):
    before = {k: v.clone() for k, v in worker.parameters.brain.state_dict().items()}
    start_state = {k: v.clone() for k, v in worker.state.items()}
    worker.parameters.pull(worker.brain)
    worker._learn(worker._act(), start_state)
    after = worker.parameters.brain.state_dict()
    changed = {k.split(".")[1] for k, v in after.items() if not torch.equal(v, before[k])}
    assert {"visual_cortex", "entorhinal", "ca3", "ca1", "prefrontal", "basal_ganglia", "amygdala"} <= changed


def test_a_non_finite_loss_skips_the_update_and_is_reported(worker, monkeypatch):
    loss = a3c.a3c_loss

    def poisoned(*args, **kwargs):
        total, terms = loss(*args, **kwargs)
        return total * float("nan"), terms

    monkeypatch.setattr(a3c, "a3c_loss", poisoned)
    weights = {k: v.clone() for k, v in worker.parameters.brain.state_dict().items()}
    start_state = {k: v.clone() for k, v in worker.state.items()}
    worker.parameters.pull(worker.brain)
    worker._learn(worker._act(), start_state)
    events = [worker.events.get_nowait() for _ in range(worker.events.qsize())]
    assert [type(event) for event in events if isinstance(event, (NonFiniteLoss, Updated))] == [NonFiniteLoss]
    assert all(torch.equal(v, weights[k]) for k, v in worker.parameters.brain.state_dict().items())
    assert sum(worker.memory.occupancy()) == 0, "a skipped update must not write the rollout into the memory"


def test_a_worker_whose_master_died_stops_instead_of_training_on(worker, monkeypatch):
    parents = iter([100, 100, 1])  # the master's pid at start, still alive after one rollout, then gone
    monkeypatch.setattr(a3c.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(worker, "_setup", lambda: None)  # the fixture already set it up
    worker._train()
    assert worker.counters.steps() == worker.cfg.t_max  # one rollout, then it noticed
