"""The Ray backend on a local Ray cluster: runs, checkpoints, resumes, replaces a killed worker actor."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import torch

import brain
from brain.recording import open_run
from brain.run import main
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
from brain.training.rundir import load_checkpoint, read_episodes
from brain.training.train import prepare_run_dir, train
from brain.training.trainer import Trainer

ray = pytest.importorskip("ray")
from brain.training import ray_backend  # noqa: E402  (needs ray)

TINY = Path(__file__).parent / "data" / "tiny.yaml"


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """One local Ray for the module; its workers import this checkout's code, as the driver does."""
    ray.init(num_cpus=2, include_dashboard=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(brain.__file__).parents[1])}})
    yield
    ray.shutdown()


def ray_config(tmp_path: Path, **overrides) -> TrainConfig:
    values = dict(connectome=str(TINY), task="1-2", workers=2, steps=400, seed=3, out=str(tmp_path / "run"), t_max=10,
                  checkpoint_every=10**9, backend="ray", record_every=2)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory) -> Path:
    return train(ray_config(tmp_path_factory.mktemp("ray"), steps=600, envs_per_worker=2))


def test_a_ray_run_progresses_and_writes_the_same_run_directory(ray_run: Path):
    payload = load_checkpoint(ray_run)
    assert payload["steps"] >= 600
    rows = read_episodes(ray_run)
    assert rows and len(rows) == payload["episodes"]
    assert {row["worker"] for row in rows} == {"0", "1"}, "both worker actors finished episodes"
    assert {row["env"] for row in rows} == {"0", "1"}, "each actor's two environments finished episodes"
    assert list((ray_run / "tb").glob("events.out.tfevents.*"))
    assert sum(payload["memory"]["sizes"].tolist()) > 0, "reverse replay reached the learner's memory"
    with open_run(ray_run) as recording:
        assert len(recording) > 0
        assert len({episode.episode for episode in recording}) == len(recording)


def test_resume_continues_the_counters_of_the_checkpoint_exactly(ray_run: Path):
    before = load_checkpoint(ray_run)
    cfg = TrainConfig.from_yaml(ray_run / "config.yaml")
    trainer = Trainer(cfg, ray_run, ray_run / "connectome.yaml", resume=True)
    events, steps = ray.get(trainer.backend.learner.collect.remote())
    assert steps == before["steps"] and not events
    assert ray.get(trainer.backend.learner.next_episode.remote()) == before["episodes"]
    learner_state = trainer.backend.state()
    for name, tensor in before["brain"].items():
        torch.testing.assert_close(learner_state["brain"][name], tensor, msg=name)
    assert learner_state["memory"]["sizes"].tolist() == before["memory"]["sizes"].tolist()
    del trainer

    cfg.steps = before["steps"] + 200
    train(cfg, resume=True)
    after = load_checkpoint(ray_run)
    assert after["steps"] >= before["steps"] + 200
    assert len(read_episodes(ray_run)) == after["episodes"] > before["episodes"]
    with open_run(ray_run) as recording:
        numbers = [episode.episode for episode in recording]
    assert len(set(numbers)) == len(numbers), "episode numbers continue after the resume, never repeat"


def test_pushed_gradients_are_applied_with_rmsprop_and_reach_the_next_pull():
    torch.manual_seed(0)
    cfg = ray_config(Path("-"))
    local = brain.engine.Brain.from_connectome(str(TINY))
    optimizer = SharedRMSprop(local.parameters(), lr=cfg.lr, alpha=cfg.rms_alpha, eps=cfg.rms_eps)
    initial = {name: tensor.clone() for name, tensor in local.state_dict().items()}
    state = {"brain": initial, "optimizer": optimizer.state_dict(), "memory": None}
    learner = ray_backend.Learner.remote(cfg, TINY.read_text(), state, 0, 0)
    link = ray_backend.LearnerLink(learner, 0, threading.Event())
    for parameter in local.parameters():
        parameter.grad = torch.randn_like(parameter)
    link.push(local)
    optimizer.step()  # the same RMSProp step here, to compare with
    pulled = brain.engine.Brain.from_connectome(str(TINY))
    link.pull(pulled)
    assert any(not torch.equal(a, b) for a, b in zip(pulled.state_dict().values(), initial.values()))
    for name, tensor in local.state_dict().items():
        torch.testing.assert_close(pulled.state_dict()[name], tensor, msg=name)


def test_each_worker_memory_receives_the_other_workers_writes_once():
    cfg = ray_config(Path("-"))
    local = brain.engine.Brain.from_connectome(str(TINY))
    optimizer = SharedRMSprop(local.parameters(), lr=cfg.lr)
    memory = local.regions["hippocampus"].make_memory()
    state = {"brain": local.state_dict(), "optimizer": optimizer.state_dict(), "memory": memory.state_dict()}
    learner = ray_backend.Learner.remote(cfg, TINY.read_text(), state, 0, 0)
    first, second = (ray_backend.LearnerLink(learner, rank, threading.Event()) for rank in (0, 1))
    places = torch.arange(20.0).view(5, 4)  # each write's place travels with it
    first.memory.write(torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1]), torch.randn(5), places)
    first.add_steps(5)
    first.push(local)  # the writes travel with the next push
    first.pull(local)
    assert first.memory.occupancy() == [2, 2, 1], "a worker's own writes do not come back to it"
    second.pull(local)  # the weights it joined with: its copy is that of the start
    assert second.memory.occupancy() == [0, 0, 0]
    second.push(local)
    second.pull(local)
    assert second.memory.occupancy() == [2, 2, 1]
    for copy in (second.memory.state_dict(), ray.get(learner.state.remote())["memory"]):
        held = [x for action, n in enumerate(copy["sizes"]) for x in copy["places"][action, :n, 0].tolist()]
        assert sorted(held) == [0.0, 4.0, 8.0, 12.0, 16.0]
    assert second.steps() == 5
    assert ray.get(learner.state.remote())["memory"]["sizes"].tolist() == [2, 2, 1]


def test_a_killed_worker_actor_is_replaced_and_the_run_finishes(tmp_path: Path, train_killing_a_worker):
    run_dir, cfg = prepare_run_dir(ray_config(tmp_path, steps=1200, record_every=0), resume=False)
    trainer = Trainer(cfg, run_dir, run_dir / "connectome.yaml")

    def kill_first_actor() -> bool:
        ray.kill(trainer.backend.actors[0])
        return True

    progress, killed = train_killing_a_worker(trainer, kill_first_actor)
    assert killed
    assert progress.restarts >= 1 and trainer.generations[0] >= 1
    assert trainer.steps() >= cfg.steps
    assert load_checkpoint(run_dir)["steps"] >= cfg.steps


def test_an_unreachable_address_is_a_usage_error_that_creates_nothing(tmp_path: Path, capsys):
    out = tmp_path / "run"
    code = main(["--connectome", str(TINY), "--backend", "ray", "--address", "127.0.0.1:1", "--out", str(out)])
    assert code == 2
    assert "--address 127.0.0.1:1" in capsys.readouterr().err
    assert not out.exists()


def test_without_ray_the_ray_backend_says_how_to_install_it(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delattr(brain.training, "ray_backend")
    monkeypatch.setitem(sys.modules, "brain.training.ray_backend", None)
    code = main(["--connectome", str(TINY), "--backend", "ray", "--out", str(tmp_path / "run")])
    assert code == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
