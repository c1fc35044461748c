"""A Unity build of the WBAI tasks as the ``gymnasium.Env`` of docs/interfaces.md section 1.

One ``UnityMazeEnv`` runs one Unity process (``mlagents_envs.environment.UnityEnvironment``) on
port ``base_port + worker_id``; the trainer gives each worker its rank as ``worker_id``. The
observations, the reward and the ``info`` dict equal those of ``tasks.make(task)`` for the same
seed and actions (the reward as the float32 that ML-Agents carries).

Faults: a Unity process that exits, or does not answer within ``timeout`` seconds (hung), is
reported (a warning naming the build, worker id, port, log file and its last lines), killed and
started again with the next seed (``seed + restarts``) at the task it was in. The episode in
progress ends ``truncated``; ``reset()`` then begins the restarted build's first trial. After
``max_restarts`` failures in a row without a successful step, :class:`UnityWorkerError` is raised.
"""

from __future__ import annotations

import atexit
import logging
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from mlagents_envs.base_env import ActionTuple, DecisionSteps, TerminalSteps
from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.exception import (
    UnityCommunicationException, UnityCommunicatorStoppedException, UnityEnvironmentException, UnityTimeOutException,
    UnityWorkerInUseException,
)
from mlagents_envs.side_channel.engine_configuration_channel import EngineConfigurationChannel

from tasks.env import MazeEnv, check_action
from tasks.unity import UnityWorkerError
from tasks.unity.protocol import BEHAVIOR_NAME, DEPTH, N_ACTIONS, ODOMETRY, RGB, JsonChannel

#: What a Unity process that died or hung raises inside mlagents-envs.
FAILURES = (UnityTimeOutException, UnityEnvironmentException, UnityCommunicatorStoppedException,
            UnityCommunicationException, UnityWorkerInUseException)
LOG_TAIL_LINES = 5
log = logging.getLogger("tasks.unity")

Observation = dict[str, np.ndarray]


class UnityProcess(UnityEnvironment):
    """``UnityEnvironment`` that cleans up when start-up fails.

    mlagents-envs 0.28 leaves its gRPC server bound to the port (so the next start finds it "in
    use") when the player exits during start-up, and registers an ``atexit`` close either way.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close at once: stop the server, kill the player if it still runs, forget the ``atexit`` hook."""
        if hasattr(self, "_communicator"):
            self._close(timeout=0)
        atexit.unregister(self._close)


class UnityMazeEnv(gym.Env):
    """The WBAI task ``task`` played by the Unity build ``build`` (an executable; docs/unity.md).

    Example (with the project's stand-in build, which serves the embedded tasks over the protocol):
        >>> import tempfile
        >>> from tasks.unity.peer import make_build
        >>> build = make_build(Path(tempfile.mkdtemp()))
        >>> env = UnityMazeEnv(build, "1-3", base_port=9321, no_graphics=True)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(2)
        >>> info["task"], obs["rgb"].shape
        ('1-3', (3, 84, 84))
        >>> env.close()
    """

    metadata = {"render_modes": []}

    def __init__(self, build: str | Path, task: str = "1-3", *, worker_id: int = 0, base_port: int = 5005,
                 no_graphics: bool = False, timeout: int = 60, time_scale: float = 100.0,
                 target_frame_rate: int = -1, ticks_per_step: int = 10, rgb_size: int = 84, depth_size: int = 32,
                 log_folder: str | Path | None = None, max_restarts: int = 3):
        """
        Args:
            build: the Unity player executable (or ``tasks.unity.peer``'s launcher).
            task: a task id or ``"curriculum"``, sent to the build with the simulator options.
            worker_id: offset of this process's port from ``base_port`` (one per parallel worker).
            no_graphics: run the player with ``-nographics -batchmode`` (only for scenes whose
                cameras render without graphics, as the peer's do).
            timeout: seconds to wait for the build to start or answer before it counts as hung.
            time_scale, target_frame_rate: Unity's engine settings (engine-configuration side channel).
            ticks_per_step, rgb_size, depth_size: as ``MazeEnv``; ``depth_size=0``: the build has no
                depth camera and observations have no ``depth``.
            log_folder: the player writes ``Player-<worker_id>.log`` here (None: wherever it likes).
            max_restarts: failures in a row (without a successful step) before giving up.
        """
        self.build = str(build)
        self.task, self.worker_id, self.base_port = task, worker_id, base_port
        self.no_graphics, self.timeout, self.max_restarts = no_graphics, timeout, max_restarts
        self.engine = {"time_scale": time_scale, "target_frame_rate": target_frame_rate}
        self.options = {"task": task, "ticks_per_step": ticks_per_step, "rgb_size": rgb_size, "depth_size": depth_size}
        self.log_folder = None if log_folder is None else Path(log_folder).resolve()
        self.expected_shapes = {RGB: (rgb_size, rgb_size, 3), ODOMETRY: (2,)}
        if depth_size:
            self.expected_shapes[DEPTH] = (depth_size, depth_size, 1)
        space = MazeEnv(task, ticks_per_step=ticks_per_step, rgb_size=rgb_size, depth_size=max(1, depth_size),
                        render_observations=False)  # the same spaces; validates the task and sizes here
        self.observation_space = spaces.Dict({k: v for k, v in space.observation_space.items()
                                              if k != "depth" or depth_size})
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._unity: UnityProcess | None = None
        self._wbai = JsonChannel()
        self._index: dict[str, int] = {}  # observation name -> position in the behaviour's observation specs
        self._seed = 0
        self.restarts = 0  # Unity processes started again after a failure, over this env's life
        self._failures = 0  # in a row, since the last successful step
        self._in_episode = False
        self._last: tuple[Observation, dict[str, Any]] | None = None  # the latest observation and info
        self._pending: tuple[Observation, dict[str, Any]] | None = None  # the next trial's, sent with a trial's end

    # --- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """The next trial. A seed (or the first reset) starts the build afresh: Unity seeds only at start-up."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reset options {sorted(options)} are not supported by the Unity environment")
        if seed is not None or self._unity is None:
            self._seed = int(self.np_random.integers(2**31)) if seed is None else seed
            self._pending = self._with_restarts("reset", self._start)
        elif self._pending is None:  # a trial abandoned half-way: Unity's academy reset starts the next one
            self._pending = self._with_restarts("reset", self._reset_exchange)
        (obs, info), self._pending = self._pending, None
        self._last, self._in_episode = (obs, info), True
        return obs, info

    def step(self, action):
        a = check_action(action, self.action_space.n)
        if not self._in_episode:
            raise RuntimeError("the trial is over (or never started): call reset() before step()")
        try:
            obs, reward, terminated, truncated, info = self._step_exchange(a)
        except FAILURES as error:
            self._pending = self._with_restarts("restart", self._start, first_error=(error, f"step (action {a})"))
            obs, info = self._last
            info = {**info, "success": False, "failure": False, "task_complete": False, "unity_restart": self.restarts}
            self._in_episode = False
            return obs, 0.0, False, True, info
        self._failures = 0
        self._last, self._in_episode = (obs, info), not (terminated or truncated)
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        """Tell the build to quit and wait for it (killed after ``timeout`` seconds)."""
        if self._unity is not None:
            unity, self._unity = self._unity, None
            unity.close()
            unity.discard()

    @property
    def port(self) -> int:
        return self.base_port + self.worker_id

    @property
    def pid(self) -> int | None:
        """The Unity process's id (mlagents-envs 0.28 keeps the launched player in ``_process``)."""
        process = getattr(self._unity, "_process", None)
        return None if process is None else process.pid

    @property
    def log_file(self) -> Path | None:
        return None if self.log_folder is None else self.log_folder / f"Player-{self.worker_id}.log"

    # --- the Unity process ---------------------------------------------------------------------
    def _with_restarts(self, phase: str, attempt: Callable[[], Any], first_error: tuple[Exception, str] | None = None):
        """``attempt()``, restarting the build after each failure, at most ``max_restarts`` in a row."""
        error = first_error
        ending = "; the episode in progress ends truncated" if first_error else ""
        while True:
            if error is not None:
                self._failures += 1
                report = self._report(*error)
                if self._failures > self.max_restarts:
                    self._kill()
                    raise UnityWorkerError(f"{report}; it failed {self._failures} times in a row, giving up "
                                           f"(check the build and its log)") from error[0]
                self.restarts += 1
                self._seed = (self._seed + 1) % 2**31
                log.warning("%s; restarting it (restart %d, %d of at most %d in a row, seed %d)%s", report,
                            self.restarts, self._failures, self.max_restarts, self._seed, ending)
                self._kill()
                attempt = self._start
            try:
                return attempt()
            except FAILURES as failure:
                error = (failure, phase)

    def _start(self) -> tuple[Observation, dict[str, Any]]:
        """Launch the build with ``self._seed``, send options and engine settings, and reset it."""
        self._kill()
        if self.log_folder is not None:
            self.log_folder.mkdir(parents=True, exist_ok=True)
        engine = EngineConfigurationChannel()
        engine.set_configuration_parameters(**self.engine)
        self._wbai = JsonChannel()
        start_task = None if self._last is None else self._last[1]["task"]  # a restarted curriculum goes on
        self._wbai.send({"options": {**self.options, "start_task": start_task}})
        self._unity = UnityProcess(self.build, worker_id=self.worker_id, base_port=self.base_port, seed=self._seed,
                                   no_graphics=self.no_graphics, timeout_wait=self.timeout,
                                   side_channels=[engine, self._wbai],
                                   log_folder=None if self.log_folder is None else str(self.log_folder))
        return self._reset_exchange()

    def _kill(self) -> None:
        """Drop the current Unity process at once, without waiting for a process that may hang."""
        if self._unity is not None:
            unity, self._unity = self._unity, None
            unity.discard()

    def _report(self, error: Exception, phase: str) -> str:
        what = (f"no answer within {self.timeout} s (hung?)" if isinstance(error, UnityTimeOutException)
                else f"{type(error).__name__}: {str(error).strip().rstrip('.')}")
        where = f"log {self.log_file}" if self.log_file else "no log folder"
        tail = ""
        if self.log_file is not None and self.log_file.is_file():
            lines = self.log_file.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            tail = "; last log lines:\n    " + "\n    ".join(lines)
        return (f"Unity worker {self.worker_id} (build {self.build}, port {self.port}, pid {self.pid}, {where}): "
                f"during {phase}: {what}{tail}")

    # --- exchanges -----------------------------------------------------------------------------
    def _reset_exchange(self) -> tuple[Observation, dict[str, Any]]:
        self._unity.reset()
        self._check_spec()
        decision, _ = self._unity.get_steps(BEHAVIOR_NAME)
        return self._observation(decision), self._infos()[False]

    def _step_exchange(self, action: int):
        self._unity.set_actions(BEHAVIOR_NAME, ActionTuple(discrete=np.array([[action]], np.int32)))
        self._unity.step()
        decision, terminal = self._unity.get_steps(BEHAVIOR_NAME)
        infos = self._infos()
        if len(terminal):
            if len(decision):  # Unity began the next trial at once: that is the next reset's observation
                self._pending = (self._observation(decision), infos[False])
            interrupted = bool(terminal.interrupted[0])
            return self._observation(terminal), float(terminal.reward[0]), not interrupted, interrupted, infos[True]
        if not len(decision):
            raise UnityWorkerError(f"{self.build}: agent of {BEHAVIOR_NAME} sent no decision request after a step")
        return self._observation(decision), float(decision.reward[0]), False, False, infos[False]

    def _infos(self) -> dict[bool, dict[str, Any]]:
        """The ``wbai`` channel's info messages of the last exchange, keyed by their ``done`` flag."""
        infos = {}
        for message in self._wbai.take():
            info = dict(message["info"])
            info["pose"] = np.asarray(info["pose"], np.float32)
            infos[bool(message["done"])] = info
        if False not in infos and True not in infos:
            raise UnityWorkerError(f"{self.build} sent no info message on the wbai side channel "
                                   f"({self._wbai.channel_id}); docs/unity.md says what it must send")
        return infos

    def _check_spec(self) -> None:
        specs = self._unity.behavior_specs
        if BEHAVIOR_NAME not in specs:
            raise UnityWorkerError(f"{self.build} has no behaviour {BEHAVIOR_NAME!r} (it has {sorted(specs)}); "
                                   f"name the agent's Behavior Parameters so (docs/unity.md)")
        spec = specs[BEHAVIOR_NAME]
        shapes = {o.name: tuple(o.shape) for o in spec.observation_specs}
        wrong = {name: shapes.get(name) for name, shape in self.expected_shapes.items() if shapes.get(name) != shape}
        if wrong or spec.action_spec.discrete_branches != (N_ACTIONS,) or spec.action_spec.continuous_size:
            raise UnityWorkerError(
                f"{self.build}: behaviour {BEHAVIOR_NAME} sends observations {shapes} and actions "
                f"{spec.action_spec}; expected {self.expected_shapes} and one discrete branch of {N_ACTIONS} "
                f"(docs/unity.md)")
        self._index = {o.name: i for i, o in enumerate(spec.observation_specs)}

    def _observation(self, steps: DecisionSteps | TerminalSteps) -> Observation:
        """ML-Agents' float observations of the one agent -> uint8 [3, H, W] rgb, [1, h, w] depth, odometry."""
        obs = {name: steps.obs[i][0] for name, i in self._index.items()}
        result = {"rgb": np.ascontiguousarray(np.rint(obs[RGB] * 255.0).astype(np.uint8).transpose(2, 0, 1))}
        if DEPTH in self.expected_shapes:
            result["depth"] = np.ascontiguousarray(obs[DEPTH].transpose(2, 0, 1), dtype=np.float32)
        result["odometry"] = np.asarray(obs[ODOMETRY], np.float32)
        return result
