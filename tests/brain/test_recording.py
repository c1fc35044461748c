"""Recording to HDF5: what is written reads back equal, survives SIGKILL, and bad files get one clear error."""

from __future__ import annotations

import dataclasses
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import yaml

from brain import evaluate, run
from brain.engine import Brain
from brain.events import EpisodeEnded, RecordingFailed
from brain.recording import (EpisodeBuffer, EpisodeRecord, Recorder, RecordingError, RecordingFile, RecordingSink,
                             RecordingSpec, open_run, prepare)
from brain.recording.store import left_open
from brain.training import a3c
from brain.training.backend import Counters
from brain.training.config import TrainConfig
from brain.training.optim import SharedRMSprop
from brain.training.rundir import load_checkpoint
from brain.training.train import prepare_run_dir, train
from brain.training.trainer import Trainer

ROOT = Path(__file__).parents[2]
TINY = str(Path(__file__).parent / "data" / "tiny.yaml")
#: A made-up brain: a port with two trailing dims (flattened to 6 units), a value and a TD-error port.
SHAPES = {"eye.features": (4,), "grid.cells": (2, 3), "critic.value": (1,), "critic.td_error": (1,)}
SPEC = RecordingSpec(tuple((key, math.prod(shape)) for key, shape in SHAPES.items()), "critic.value",
                     "critic.td_error")


def fake_episode(length: int, seed: int, number: int = 0) -> tuple[EpisodeRecord, dict[str, np.ndarray]]:
    """A seeded episode of random activity, and what each port and behaviour series must read back as."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    buffer, steps = EpisodeBuffer(SPEC.buffered_keys), []
    for _ in range(length):
        activity = {key: torch.randn(1, *shape, generator=gen) for key, shape in SHAPES.items()}
        pose, action, reward = rng.normal(size=3).astype(np.float32), int(rng.integers(3)), float(rng.normal())
        buffer.add(activity, pose, action, reward)
        steps.append((activity, pose, action, reward))
    expected = {key: np.stack([a[key][0].reshape(-1).numpy() for a, *_ in steps]) for key in SHAPES}
    expected["pose"] = np.stack([pose for _, pose, _, _ in steps])
    expected["action"] = np.array([action for *_, action, _ in steps])
    expected["reward"] = np.array([reward for *_, reward in steps], dtype=np.float32)
    record = buffer.finish(episode=number, worker=seed % 3, task="1-3", success=seed % 2 == 0, global_step=100 * seed)
    return record, expected


def assert_episode_equal(episode, record: EpisodeRecord, expected: dict[str, np.ndarray]) -> None:
    for key in ("eye.features", "grid.cells"):
        np.testing.assert_array_equal(episode.activity(*key.split(".")), expected[key], err_msg=key)
    np.testing.assert_array_equal(episode.value, expected["critic.value"][:, 0])
    np.testing.assert_array_equal(episode.td_error, expected["critic.td_error"][:, 0])
    for name in ("pose", "action", "reward"):
        np.testing.assert_array_equal(getattr(episode, name), expected[name], err_msg=name)
    assert (episode.episode, episode.worker, episode.task, episode.success, episode.global_step, episode.length) == \
        (record.episode, record.worker, record.task, record.success, record.global_step, record.length)
    assert episode.ret == pytest.approx(float(expected["reward"].astype(np.float64).sum()), abs=1e-5)


def prepared(path: Path, spec: RecordingSpec = SPEC, kind: str = "test") -> Path:
    prepare(path, spec, "name: fake\n", "fake", {"kind": kind})
    return path


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def episodes_in(rec) -> int:
    """Episodes a live recording holds now (SWMR refresh)."""
    rec.refresh()
    return len(rec)


def episodes_of_run(run_dir: Path) -> int:
    """Episodes in a run's recording, 0 while there is none yet or its writer is just opening it."""
    try:
        with open_run(run_dir) as rec:
            return len(rec)
    except RecordingError:
        return 0


# --- the file ------------------------------------------------------------------------------------
def test_fake_episodes_read_back_equal_with_their_index(tmp_path: Path):
    path = prepared(tmp_path / "rec.h5")
    episodes = [fake_episode(length, seed, number) for number, (length, seed) in enumerate([(7, 1), (1, 2), (30, 3)])]
    with RecordingFile(path) as file:
        for record, _ in episodes:
            file.append(record)
    with open_run(path) as rec:
        assert len(rec) == 3 and rec.ports == ["eye.features", "grid.cells", "critic.value", "critic.td_error"]
        assert list(rec.index["start"]) == [0, 7, 8] and list(rec.index["length"]) == [7, 1, 30]
        assert rec.connectome == "name: fake\n" and rec.sessions[0]["kind"] == "test"
        for position, (record, expected) in enumerate(episodes):
            assert_episode_equal(rec.episode(position), record, expected)
        assert rec.select(success=True) == [1] and rec.select(task="1-3", worker=0) == [2]
        assert rec.episode(0).region("grid")["cells"].shape == (7, 6)


def test_episodes_reach_the_file_in_batches_and_all_of_them_at_close(tmp_path: Path):
    path = prepared(tmp_path / "rec.h5")
    with RecordingFile(path, batch_steps=10, batch_seconds=3600) as file:
        file.append(fake_episode(4, 1)[0])
        file.write_if_due()
        assert file.waiting == 1, "4 steps wait for more"
        file.append(fake_episode(7, 2)[0])
        assert file.waiting == 0, "11 steps are a batch"
        file.append(fake_episode(3, 3)[0])
        file.batch_seconds = 0.0
        file.write_if_due()
        assert file.waiting == 0, "the oldest waited long enough"
        file.append(fake_episode(2, 4)[0])
    with open_run(path) as rec:
        assert list(rec.index["length"]) == [4, 7, 3, 2] and list(rec.index["start"]) == [0, 4, 11, 14]


def test_reopening_appends_a_new_session_and_refuses_a_different_spec(tmp_path: Path):
    path = prepared(tmp_path / "rec.h5")
    with RecordingFile(path) as file:
        file.append(fake_episode(5, 1)[0])
    prepared(path, kind="resume")
    with RecordingFile(path) as file:
        file.append(fake_episode(4, 2)[0])
    with open_run(path) as rec:
        assert [s["kind"] for s in rec.sessions] == ["test", "resume"]
        assert list(rec.index["session"]) == [0, 1] and list(rec.index["start"]) == [0, 5]
    other = RecordingSpec(SPEC.ports[:1], SPEC.value_port, SPEC.td_error_port, float16=True)
    with pytest.raises(RecordingError, match="holds a recording of 4 ports .* records 1 ports .*move the file away"):
        prepared(path, other)


def test_region_selection_and_float16_store_only_what_was_asked(tmp_path: Path):
    brain = Brain.from_connectome(TINY)
    spec = RecordingSpec.for_brain(brain, ["ca1"], float16=True, compression="lzf")
    assert [key for key, _ in spec.ports] == ["ca1.place_cells", "ca1.code"]
    assert spec.buffered_keys[-2:] == ("basal_ganglia.value", "basal_ganglia.td_error")  # stored all the same
    gen = torch.Generator().manual_seed(0)
    buffer, memory = EpisodeBuffer(spec.buffered_keys, spec.memory), brain.regions["hippocampus"].make_memory()
    steps = [{key: torch.rand(1, *shape, generator=gen) for key, shape in brain.output_shapes().items()}
             for _ in range(6)]
    for t, activity in enumerate(steps):
        buffer.add(activity, np.zeros(3, np.float32), t % 3, 0.0, memory=memory)
    path = tmp_path / "rec.h5"
    prepare(path, spec, brain.connectome.to_yaml(), "tiny", {"kind": "test"})
    with RecordingFile(path) as file:
        file.append(buffer.finish(episode=0, worker=0, task="1-1", success=False, global_step=0))
    with h5py.File(path, "r") as raw:
        assert sorted(raw["steps/regions"]) == ["ca1"]
        assert raw["steps/regions/ca1/code"].dtype == np.float16 and raw["steps/value"].dtype == np.float32
    with open_run(path) as rec:
        episode = rec.episode(0)
        code = np.stack([a["ca1.code"][0].numpy() for a in steps])
        np.testing.assert_array_equal(episode.activity("ca1", "code"), code.astype(np.float16))
        np.testing.assert_array_equal(episode.value, np.stack([a["basal_ganglia.value"][0, 0].numpy() for a in steps]))
        with pytest.raises(RecordingError, match="no activity of 'ca3.state' recorded; recorded ports: ca1.place"):
            episode.activity("ca3", "state")


def test_an_unknown_region_to_record_is_refused_before_the_run_directory_exists(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run.main(["--connectome", TINY, "--record-regions", "ca1,cortex", "--out", str(out)]) == 2
    assert "--record-regions: unknown region 'cortex'; this brain has visual_cortex" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "run without recording", "foreign hdf5", "not hdf5", "truncated"])
def test_a_path_that_holds_no_readable_recording_gets_one_clear_error(tmp_path: Path, case: str):
    path = tmp_path / "x.h5"
    if case == "run without recording":
        path = tmp_path / "run"
        path.mkdir()
        (path / "eval-1-3.h5").touch()
    elif case == "foreign hdf5":
        with h5py.File(path, "w") as file:
            file["data"] = np.arange(3)
    elif case == "not hdf5":
        path.write_bytes(b"not an hdf5 file at all\n" * 40)
    elif case == "truncated":
        with RecordingFile(prepared(path)) as file:
            file.append(fake_episode(50, 1)[0])
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = {"missing": "no such file or directory; give a run directory or a recording .h5 file",
               "run without recording": "no recording.h5 in this directory; it holds eval-1-3.h5: open one of those",
               "foreign hdf5": "an HDF5 file, but not a recording of this project",
               "not hdf5": "not a readable HDF5 file", "truncated": "shorter than its HDF5 superblock says"}[case]
    with pytest.raises(RecordingError, match=message) as error:
        open_run(path)
    assert str(path) in str(error.value)
    assert error.value.__context__ is None or error.value.__suppress_context__  # no h5py traceback behind it


# --- the writer process --------------------------------------------------------------------------
def test_a_writer_killed_with_sigkill_leaves_every_flushed_episode_and_the_file_is_salvaged_to_append(tmp_path):
    context = mp.get_context("spawn")
    path = prepared(tmp_path / "rec.h5")
    recorder = Recorder(context, path, SPEC, every=1, events=context.Queue(), flush_seconds=0.0)
    recorder.start()
    episodes = [fake_episode(10 + seed, seed, number=seed) for seed in range(3)]
    with open_run(path) as live:  # SWMR: readable while the writer writes
        for record, _ in episodes:
            assert recorder.sink.send(record)
        wait_for(lambda: episodes_in(live) == 3)
        os.kill(recorder.process.pid, signal.SIGKILL)
        recorder.process.join()
        assert_episode_equal(live.episode(2), *episodes[2])
    assert left_open(path), "the killed writer never closed the file"
    with open_run(path) as rec:
        assert len(rec) == 3
        for position, (record, expected) in enumerate(episodes):
            assert_episode_equal(rec.episode(position), record, expected)
    prepared(path, kind="resume")  # what --resume does: salvage, then append
    assert not left_open(path)
    recorder = Recorder(context, path, SPEC, every=1, events=context.Queue())
    recorder.start()
    last = fake_episode(5, 7, number=3)
    assert recorder.sink.send(last[0])
    recorder.close(log=pytest.fail)
    assert not left_open(path)
    with open_run(path) as rec:
        assert len(rec) == 4 and list(rec.index["session"]) == [0, 0, 0, 1] and rec.index["start"][3] == 33
        assert_episode_equal(rec.episode(3), *last)


def test_a_failing_writer_is_reported_and_recording_stops_without_stopping_anyone(tmp_path: Path):
    context = mp.get_context("spawn")
    events = context.Queue()
    path = tmp_path / "rec.h5"
    path.write_bytes(b"garbage")  # the writer cannot open it
    recorder = Recorder(context, path, SPEC, every=1, events=events)
    recorder.start()
    event = events.get(timeout=60)
    assert isinstance(event, RecordingFailed) and "cannot be opened for writing" in event.traceback
    logged: list[str] = []
    recorder.on_event(event, logged.append)
    recorder.process.join(30)
    recorder.check(logged.append)  # already reported: logged once
    assert len(logged) == 1 and logged[0].startswith("recording failed, training goes on without it")
    assert recorder.sink.start_episode(0) is None, "workers stop buffering once the writer is gone"
    assert recorder.sink.send(fake_episode(3, 1)[0])  # still never blocks
    recorder.close(logged.append)


def test_a_sink_records_every_kth_episode_of_its_worker():
    sink = RecordingSink(queue.Queue(maxsize=1), threading.Event(), every=3, keys=("a.b",))
    sink.accepting.set()
    assert [sink.start_episode(n) is not None for n in range(7)] == [True, False, False, True, False, False, True]
    record = fake_episode(2, 0)[0]
    assert sink.send(record) and not sink.send(record), "a full queue drops the episode instead of waiting"


# --- with the real brain -------------------------------------------------------------------------
def test_a_worker_rollout_is_recorded_exactly_as_the_brain_computed_it(tmp_path: Path, monkeypatch):
    torch.manual_seed(0)
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, steps=10**6, seed=5, out=str(tmp_path), t_max=8,
                      envs_per_worker=1)
    shared = Brain.from_connectome(TINY)
    memory = shared.regions["hippocampus"].make_memory()
    a3c.attach_memory(shared, memory)
    optimizer = SharedRMSprop(shared.parameters(), lr=cfg.lr)
    spec = RecordingSpec.for_brain(shared)
    sink = RecordingSink(queue.Queue(), threading.Event(), every=1, keys=spec.buffered_keys, memory=spec.memory)
    sink.accepting.set()
    worker = a3c.Worker(0, 0, cfg, TINY, a3c.SharedParameters(shared, optimizer), memory,
                        Counters(mp.get_context("spawn")), queue.Queue(), threading.Event(), sink)
    worker._setup()
    seen = []  # (step output, pose of the observation it acted on)
    step = worker.brain.step

    def watched_step(*args):
        out, state = step(*args)
        seen.append((out, worker.envs.infos[0]["pose"].copy()))
        return out, state

    monkeypatch.setattr(worker.brain, "step", watched_step)
    rollouts, act = [], worker._act
    monkeypatch.setattr(worker, "_act", lambda: rollouts.append(act()) or rollouts[-1])
    while sink.queue.empty():
        worker.rollout()
    record = sink.queue.get_nowait()
    outputs = [out for out, _ in seen[: record.length]]
    path = tmp_path / "rec.h5"
    prepare(path, spec, shared.connectome.to_yaml(), "tiny", {"kind": "test"})
    with RecordingFile(path) as file:
        file.append(record)
    episode = open_run(path).episode(0)
    for key in shared.output_shapes():
        expected = torch.cat([out.activity[key].reshape(1, -1) for out in outputs]).numpy()
        np.testing.assert_array_equal(episode.activity(*key.split(".")), expected, err_msg=key)
    np.testing.assert_array_equal(episode.value, torch.cat([out.value for out in outputs]).numpy())
    np.testing.assert_array_equal(episode.pose, np.stack([pose for _, pose in seen[: record.length]]))
    actions = [a[0] for r in rollouts for a in r.actions][: record.length]
    rewards = [x[0] for r in rollouts for x in r.rewards][: record.length]
    np.testing.assert_array_equal(episode.action, actions)
    np.testing.assert_array_equal(episode.reward, np.asarray(rewards, dtype=np.float32))
    event = next(e for e in iter(worker.events.get_nowait, None) if isinstance(e, EpisodeEnded))
    assert (episode.task, episode.success, episode.length, episode.ret) == \
        (event.task, event.success, event.steps, event.ret)
    read_out = torch.stack([out.activity["hippocampus.values"][0, a] for out, a in zip(outputs, actions)]).numpy()
    np.testing.assert_allclose(episode.memory("value"), read_out, rtol=1e-6)
    assert_memory_traced(episode, memory.state_dict())


def assert_memory_traced(episode, state: dict) -> None:
    """Every step of ``episode`` was written to the memory of ``state`` (nothing evicted since): the entry its id
    names holds its pose and its return; every recorded neighbour is an entry of the memory at the place recorded."""
    ids, places, values = state["ids"].numpy(), state["places"].numpy(), state["values"].numpy()
    where = {int(i): (a, slot) for a in range(len(ids)) for slot, i in enumerate(ids[a, :state["sizes"][a]])}
    written = episode.memory("written_id")
    assert (written >= 0).all() and len(set(written)) == episode.length, "each step written once, to its own entry"
    for step, entry in enumerate(written):
        action, slot = where[int(entry)]
        assert action == episode.action[step] and values[action, slot] == episode.memory("written_value")[step]
        np.testing.assert_array_equal(places[action, slot, :3], episode.pose[step])
    neighbours, positions = episode.memory("neighbour_id"), episode.memory("neighbour_position")
    assert (neighbours >= 0).any(), "later steps recall entries that earlier rollouts wrote"
    for step, entry in zip(*np.nonzero(neighbours >= 0)):
        action, slot = where[int(neighbours[step, entry])]
        assert action == episode.action[step]
        np.testing.assert_array_equal(positions[step, entry], places[action, slot, :2].astype(np.float16))


def test_evaluate_records_every_step_of_every_episode_and_appends_a_second_evaluation(tmp_path: Path, capsys):
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, out=str(tmp_path / "run"), record_regions=["ca1"])
    run_dir, cfg = prepare_run_dir(cfg, resume=False)
    Trainer(cfg, run_dir, run_dir / "connectome.yaml").checkpoint()  # an untrained brain is enough here
    assert evaluate.main([str(run_dir), "--episodes", "2", "--seed", "3", "--record"]) == 0
    assert f"recorded 2 episodes to {run_dir / 'eval-1-2.h5'}" in capsys.readouterr().out
    assert evaluate.main([str(run_dir), "--episodes", "1", "--greedy", "--record"]) == 0
    with open_run(run_dir / "eval-1-2.h5") as rec:
        assert [s["kind"] for s in rec.sessions] == ["evaluate", "evaluate"] and rec.sessions[1]["greedy"]
        assert list(rec.index["session"]) == [0, 0, 1] and list(rec.index["episode"]) == [0, 1, 0]
        assert rec.ports == ["ca1.place_cells", "ca1.code"]
        for episode in rec:
            assert episode.activity("ca1", "code").shape == (episode.length, 16)
            assert episode.action.shape == episode.reward.shape == episode.td_error.shape == (episode.length,)
            assert episode.ret == pytest.approx(float(episode.reward.astype(np.float64).sum()), abs=1e-4)
    with pytest.raises(RecordingError, match="no recording.h5 in this directory; it holds eval-1-2.h5"):
        open_run(run_dir)


def test_a_training_run_killed_with_sigkill_keeps_its_recording_and_resume_appends_to_it(tmp_path: Path):
    """The whole run (master, worker, writer) dies at once; the next --resume salvages the file and appends."""
    out = tmp_path / "run"
    cfg = TrainConfig(connectome=TINY, task="1-2", workers=1, envs_per_worker=1, steps=10**6, seed=4, out=str(out),
                      t_max=10, checkpoint_every=40, record_every=1, record_flush_seconds=0.0)
    script = ("import sys, yaml; from brain.training.config import TrainConfig; "
              "from brain.training.train import train; train(TrainConfig(**yaml.safe_load(sys.argv[1])))")
    process = subprocess.Popen([sys.executable, "-c", script, yaml.safe_dump(dataclasses.asdict(cfg))], cwd=ROOT,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (out / "checkpoint.pt").is_file() and episodes_of_run(out) >= 2, seconds=120)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with open_run(out) as rec:
        before = len(rec)
        assert before >= 2 and all(ep.pose.shape == (ep.length, 3) for ep in rec)
    checkpoint = load_checkpoint(out)
    # a 1-2 trial fails once its reward total falls below -1.8: 180 steps without reward, and at most 380 steps
    # after the green zone's bonus of 2, itself within 180 steps of the start: in 600 steps an episode ends
    cfg.steps = checkpoint["steps"] + 600
    train(cfg, resume=True)
    with open_run(out) as rec:
        assert len(rec) > before and [s["kind"] for s in rec.sessions] == ["train", "train"]
        resumed = rec.select(session=1)
        assert resumed and rec.episode(resumed[0]).episode == checkpoint["episodes"]
        assert rec.episode(resumed[0]).start == int((rec.index["start"] + rec.index["length"])[:before].max())
