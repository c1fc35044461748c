"""The Unity path end to end: UnityMazeEnv -> mlagents-envs -> gRPC -> the protocol peer (a launched "build").

Nothing of mlagents-envs is replaced: every test launches the peer as UnityEnvironment launches a
Unity player and talks to it over real gRPC on ports no other test uses.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlagents_envs", reason='the Unity path needs the unity extra: pip install -e ".[unity]"')

import tasks  # noqa: E402
from brain import evaluate, run  # noqa: E402
from brain.training.config import TrainConfig  # noqa: E402
from tasks.unity.adapter import UnityMazeEnv, UnityWorkerError  # noqa: E402
from tasks.unity.peer import make_build  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("build"))


_PORTS = random.Random(os.getpid())  # each pytest-xdist worker draws its own ports


def free_base_port(n: int) -> int:
    """A port p with p ... p + n - 1 free now, below the kernel's ephemeral range.

    Ports the kernel hands out (``bind`` to port 0) are also those it gives outgoing connections
    (the players', Ray's in a parallel test), which can take p + 1 before worker 1 binds it.
    """
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")  # Linux; 32768 elsewhere is a safe bound
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    for _ in range(100):
        base = _PORTS.randrange(10_000, low - n)
        if all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free consecutive ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("localhost", port))
        except OSError:
            return False
    return True


def unity(build: Path, tmp_path: Path, task: str, worker_id: int = 0, base_port: int | None = None,
          **kwargs) -> UnityMazeEnv:
    base_port = free_base_port(1) - worker_id if base_port is None else base_port
    return UnityMazeEnv(build, task, worker_id=worker_id, base_port=base_port, no_graphics=True,
                        log_folder=tmp_path / "logs", time_scale=1000.0, **kwargs)


def assert_same_step(got: tuple, want: tuple) -> None:
    """Observation, reward (as the float32 that ML-Agents carries), flags and every info field are equal."""
    (obs, reward, terminated, truncated, info), (obs0, reward0, terminated0, truncated0, info0) = got, want
    assert_same_reset((obs, info), (obs0, info0))
    assert np.float32(reward) == np.float32(reward0)
    assert (terminated, truncated) == (terminated0, truncated0)


def assert_same_reset(got: tuple, want: tuple) -> None:
    (obs, info), (obs0, info0) = got, want
    assert obs.keys() == obs0.keys()
    for key in obs0:
        assert obs[key].dtype == obs0[key].dtype and obs[key].shape == obs0[key].shape, key
        assert np.array_equal(obs[key], obs0[key]), key
    assert info["pose"].dtype == np.float32 and np.array_equal(info["pose"], info0["pose"])
    assert {k: v for k, v in info.items() if k != "pose"} == {k: v for k, v in info0.items() if k != "pose"}


def test_two_workers_equal_the_embedded_simulator(build: Path, tmp_path: Path):
    base = free_base_port(2)
    pairs = [(unity(build, tmp_path, task, worker_id=i, base_port=base), tasks.make(task))
             for i, task in enumerate(["1-2", "2-1"])]
    rng = np.random.default_rng(0)
    ends = 0
    try:
        for (adapter, embedded), seed in zip(pairs, (3, 4)):
            obs, info = adapter.reset(seed=seed)
            assert adapter.observation_space == embedded.observation_space and adapter.observation_space.contains(obs)
            assert_same_reset((obs, info), embedded.reset(seed=seed))
        assert {adapter.port for adapter, _ in pairs} == {base, base + 1}
        assert pairs[0][0].pid != pairs[1][0].pid
        for _ in range(70):
            for adapter, embedded in pairs:  # both Unity processes alive, stepped in turn
                action = int(rng.choice(3, p=[0.15, 0.15, 0.7]))
                got, want = adapter.step(action), embedded.step(action)
                assert_same_step(got, want)
                if want[2]:
                    ends += 1
                    assert_same_reset(adapter.reset(), embedded.reset())
        assert ends >= 3
        with pytest.raises(ValueError, match="valid actions"):
            pairs[0][0].step(3)
    finally:
        for adapter, _ in pairs:
            adapter.close()
    assert all(adapter.pid is None for adapter, _ in pairs)
    assert (tmp_path / "logs" / "Player-1.log").read_text().count("the Python side closed the connection") == 1


def _state(pid: int) -> str:
    """The process state letter of ``pid`` ('Z' for a zombie), or '' when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


@pytest.mark.parametrize("fault, timeout, reported", [
    (signal.SIGKILL, 10, "return code -9 (SIGKILL)"),
    (signal.SIGSTOP, 4, "no answer within 4 s (hung?)"),
])
def test_a_dead_or_hung_peer_is_reported_and_restarted(build: Path, tmp_path: Path, caplog, fault, timeout, reported):
    adapter = unity(build, tmp_path, "1-3", timeout=timeout)
    try:
        adapter.reset(seed=7)
        adapter.step(2)
        old = adapter.pid
        os.kill(old, fault)
        with caplog.at_level(logging.WARNING, logger="tasks.unity"):
            obs, reward, terminated, truncated, info = adapter.step(2)
        assert (reward, terminated, truncated) == (0.0, False, True)
        assert info["unity_restart"] == 1 and not info["success"] and not info["failure"]
        message = caplog.text
        for part in (reported, f"Unity worker 0 (build {build}, port {adapter.port}", str(adapter.log_file),
                     "restarting it", "ends truncated", "seed 8"):
            assert part in message
        assert _state(old) in ("", "Z")  # killed, not left running (or stopped)
        assert adapter.pid not in (None, old)
        # The restarted build plays seed 8 from the task it was in: the same as the embedded env does.
        embedded = tasks.make("1-3")
        assert_same_reset(adapter.reset(), embedded.reset(seed=8))
        for action in (2, 2, 0, 2):
            assert_same_step(adapter.step(action), embedded.step(action))
    finally:
        adapter.close()


def test_a_build_that_keeps_failing_raises_a_clear_error(tmp_path: Path, caplog):
    broken = tmp_path / "broken.x86_64"
    broken.write_text("#!/bin/sh\necho 'no scene' >&2\nexit 3\n")
    broken.chmod(0o755)
    adapter = UnityMazeEnv(broken, "1-3", base_port=free_base_port(1), timeout=10, max_restarts=1)
    with caplog.at_level(logging.WARNING, logger="tasks.unity"), \
            pytest.raises(UnityWorkerError, match=r"broken\.x86_64.*return code 3.*failed 2 times in a row"):
        adapter.reset(seed=0)
    assert "restart 1" in caplog.text and adapter.pid is None


def test_a_missing_mlagents_names_the_extra_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlagents_envs", None)  # what `import mlagents_envs` sees when it is absent
    with pytest.raises(SystemExit) as exit_:
        run.main(["--env", "unity", "--unity-build", sys.executable])
    assert exit_.value.code == 2
    assert 'pip install -e ".[unity]"' in capsys.readouterr().err


def test_training_on_unity_workers_writes_a_run_that_evaluates_beside_them(build: Path, tmp_path: Path, capsys):
    out = tmp_path / "run"
    port = free_base_port(3)
    result = subprocess.run(
        [sys.executable, "-m", "brain.run", "--connectome", "wba.yaml", "--env", "unity", "--unity-build", str(build),
         "--unity-no-graphics", "--unity-base-port", str(port), "--workers", "2", "--steps", "300", "--task", "1-2",
         "--record-every", "0", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = (out / "episodes.csv").read_text().splitlines()[1:]
    assert rows and {row.split(",")[1] for row in rows} == {"0", "1"}  # both workers finished episodes
    assert (out / "checkpoint.pt").is_file()
    cfg = TrainConfig.from_yaml(out / "config.yaml")
    assert (cfg.env, cfg.unity_build, cfg.unity_base_port, cfg.unity_no_graphics) == ("unity", str(build), port, True)
    for rank in (0, 1):
        assert f"connected on port {port + rank}" in (out / "unity" / f"Player-{rank}.log").read_text()
    # evaluation while the training workers' ports are still taken: it takes the next one
    held = [socket.create_server(("localhost", port + rank)) for rank in (0, 1)]
    try:
        assert evaluate.main([str(out), "--episodes", "1", "--unity-worker-id", "1"]) == 2  # a port taken
        assert f"port {port + 1}" in capsys.readouterr().err
        assert evaluate.main([str(out), "--episodes", "1"]) == 0, capsys.readouterr().err
    finally:
        for server in held:
            server.close()
    assert "success" in capsys.readouterr().out
    assert f"connected on port {port + 2}" in (out / "unity" / "Player-2.log").read_text()


def test_time_scale_paces_the_build_and_reaches_it_through_the_engine_channel(build: Path, tmp_path: Path):
    adapter = unity(build, tmp_path, "1-3", depth_size=0)  # and a build without a depth camera
    adapter.engine["time_scale"] = 4.0  # 10 ticks of 0.02 s per step: at most 4x real time = 50 ms per step
    try:
        obs, _ = adapter.reset(seed=0)
        assert set(obs) == {"rgb", "odometry"} and adapter.observation_space.contains(obs)
        started = time.monotonic()
        for _ in range(6):
            adapter.step(0)
        assert time.monotonic() - started >= 5 * 0.2 / 4.0  # the first step's pace counts from the reset's output
    finally:
        adapter.close()
    assert "engine configuration: {'time_scale': 4.0}" in adapter.log_file.read_text()


def test_a_build_whose_trainer_dies_exits_instead_of_lingering(build: Path, tmp_path: Path):
    script = (f"import sys, time\nfrom tasks.unity.adapter import UnityMazeEnv\n"
              f"env = UnityMazeEnv({str(build)!r}, base_port={free_base_port(1)}, no_graphics=True, "
              f"log_folder={str(tmp_path)!r})\nenv.reset(seed=0)\nprint(env.pid, flush=True)\ntime.sleep(60)\n")
    trainer = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        peer = int(trainer.stdout.readline())
        trainer.kill()  # SIGKILL: no close(), no atexit
        trainer.wait()
        for _ in range(100):
            if _state(peer) in ("", "Z"):
                break
            time.sleep(0.1)
        assert _state(peer) in ("", "Z")
        assert "the Python side went away" in (tmp_path / "Player-0.log").read_text()
    finally:
        trainer.kill()
