"""Typed training configuration: the CLI and the run directory's ``config.yaml`` map onto it.

Defaults are documented once, here. They follow the 2017 agent where it was sound (RMSProp
lr 7e-4, decay 0.99, gamma 0.99, entropy 0.01) and fix it where it was not (auxiliary losses
averaged, advantage detached, rollouts of 20 steps). RMSProp's eps and the gradient clip are
those of A2C with mean losses (1e-5 and 0.5): the 2017 eps of 0.1 belongs to losses summed over
the rollout; with means, gradients are ~0.1 in norm, eps 0.1 swamps the running RMS and the
brain barely moves (measured: policy entropy still ln 3 after 100k steps of 1-3).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Keys of earlier config.yaml files that no setting reads any more, dropped on load: the auxiliary-loss
#: weights and the place-field width belong to the regions now (``aux_weights:`` and ``params`` in the
#: connectome), ``rgb_size`` to the connectome's ``inputs``.
RETIRED_KEYS = ("aux_weights", "place_sigma", "rgb_size")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the connectome.

    Attributes:
        connectome: bundled connectome name or path.
        task: task id (e.g. ``"1-3"``), ignored when ``curriculum`` is set.
        curriculum: train through the 2017 task order, advancing when a task is complete.
        workers: A3C worker processes (one thread each).
        envs_per_worker: environments each worker acts on at once, with one batched brain step (its
            rollout trains as one ``[t_max, N]`` pass). 1 is the classic A3C worker; the default
            is the measured best on 2 cores (``docs/training.md``, "Batched acting").
        device: where each worker's brain acts and trains: ``cpu`` or ``cuda`` (``cuda:N``); the
            simulators, the shared weights and the hippocampal memory stay on the CPU.
        backend: where the workers run: ``local`` (processes sharing memory on this machine) or
            ``ray`` (Ray actors, on one machine or a cluster; ``docs/training.md``, "Ray backend").
        address: the Ray cluster to join (``auto``: the one started with ``ray start`` on this
            node; ``HOST:PORT``: its head); empty: start a private Ray on this machine.
        steps: total environment steps over all workers.
        seed: master seed; worker ``i`` seeds with ``(seed, i, generation)``.
        out: run directory.
        lesions: region -> lesion mode (``remove``, ``silence``, or a fraction), on top of the file's.
        t_max: rollout length (steps between updates).
        gamma: discount per agent step.
        gae_lambda: 1.0 gives plain n-step returns; below 1 gives GAE(lambda) advantages.
        lr, rms_alpha, rms_eps: shared RMSProp.
        entropy_coef, value_coef: A3C loss weights.
        max_grad_norm: global gradient-norm clip.
        ticks_per_step: physics ticks (0.02 s) per action in the embedded simulator.
        checkpoint_every: environment steps between checkpoints (a final one is always written).
        until_success: stop early once the success rate over the last 100 episodes of the current
            task reaches this fraction (0 = never; the 2017-style criterion is 0.8).
        max_minutes: stop after this much wall-clock time (0 = no limit).
        record_every: record every k-th episode of each worker (its first, then every k-th) into the run
            directory's ``recording.h5``; 0 = off. 10 keeps the cost within a few percent of the
            training speed and the file near a tenth of its every-episode size (``docs/recording.md``).
        record_regions: regions whose output ports are recorded (empty = all).
        record_float16: store region activity as float16 (half the size, about 3 significant digits).
        record_compression: HDF5 filter of the recording: ``gzip`` (readable by every HDF5 tool),
            ``lzf`` (faster, h5py only) or ``none``.
        record_flush_seconds: longest time a recorded episode waits in the writer before it reaches the
            file (readers see it then; a run killed with SIGKILL loses at most these). Batches also
            go out once 1024 steps wait; writing each episode at once would waste file space.
        env: ``embedded`` (the built-in simulator) or ``unity`` (a Unity build through ML-Agents,
            one process per worker; docs/unity.md).
        unity_build: the Unity player executable (``--env unity``).
        unity_base_port: worker ``i`` talks to its Unity process on ``unity_base_port + i``
            (5005 is ML-Agents' own default).
        unity_timeout: seconds a Unity process may take to start or answer before it counts as hung
            and is restarted.
        unity_time_scale: Unity's time scale: simulated time runs at most this many times faster than
            wall-clock time (ML-Agents trains at 20; 100 leaves the embedded peer unthrottled).
        unity_no_graphics: start the players with ``-nographics -batchmode``; only for scenes whose
            cameras render without graphics (Unity cameras usually do not).
    """

    connectome: str = "wba"
    task: str = "1-3"  # the default demo: stop at green for 2.4 s, then take the food (learned in minutes)
    curriculum: bool = False
    workers: int = 2
    envs_per_worker: int = 1
    device: str = "cpu"
    backend: str = "local"
    address: str = ""
    steps: int = 120_000
    seed: int = 0
    out: str = "runs/wba"
    lesions: dict[str, Any] = field(default_factory=dict)
    t_max: int = 20
    gamma: float = 0.99
    gae_lambda: float = 1.0
    lr: float = 7e-4
    rms_alpha: float = 0.99
    rms_eps: float = 1e-5
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    ticks_per_step: int = 10
    checkpoint_every: int = 10_000
    until_success: float = 0.0
    max_minutes: float = 0.0
    record_every: int = 10
    record_regions: list[str] = field(default_factory=list)
    record_float16: bool = False
    record_compression: str = "gzip"
    record_flush_seconds: float = 30.0
    env: str = "embedded"
    unity_build: str = ""
    unity_base_port: int = 5005
    unity_timeout: int = 60
    unity_time_scale: float = 100.0
    unity_no_graphics: bool = False

    def to_yaml(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: Path) -> "TrainConfig":
        data = yaml.safe_load(path.read_text()) or {}
        for key in RETIRED_KEYS:
            data.pop(key, None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {unknown}; known keys: {sorted(known)}")
        return cls(**data)
