"""Everything a run will use, checked before it starts: what ``--check`` and every new or resumed run do.

A file that ``python -m brain.run --check`` accepts must train. Loading validates the connectome
(names, ports, cycles, lesions, numbers; :mod:`brain.connectome.validation`); this module adds what depends on
the run as well: the recording flags, the memory estimate against ``--max-memory-gb``
(:mod:`brain.training.budget`, sized on the ``meta`` device) and the policy's width against the task's
actions, so that none of them fails (or silently misbehaves) once the workers have started::

    >>> from brain.training.budget import Limits
    >>> connectome, cost = preflight(TrainConfig(connectome="wba"), Limits(max_memory_gb=64))
    >>> cost.parameters
    1771081
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from brain.connectome import Connectome, load_connectome
from brain.connectome.wiring import probe
from brain.training.budget import Estimate, Limits, check
from brain.training.config import TrainConfig
from brain.training.environment import make_environment, port_spaces


def task_environment(cfg: TrainConfig, connectome: Connectome):
    """The embedded environment of the run's task, shaped to the connectome (Unity builds follow the same contract)."""
    return make_environment(dataclasses.replace(cfg, env="embedded"), connectome.inputs)


def check_inputs(connectome: Connectome, ports: Mapping[str, tuple[int, ...]], task: str) -> None:
    """Every ``inputs:`` port must be one the environment gives (``ports``: their shapes), with that shape."""
    for key, shape in connectome.inputs.items():
        if key not in ports:
            raise connectome.error(("inputs", key), f"the environment has no port {key!r}; task {task} gives "
                                   f"{', '.join(sorted(ports))}", f"remove `{key}` from `inputs:` or use one of those")
        if tuple(shape) != tuple(ports[key]):
            raise connectome.error(("inputs", key), f"env.{key} has shape {list(ports[key])} in task {task}, but "
                                   f"`inputs:` declares {list(shape)}",
                                   f"write `{key}: {list(ports[key])}` (images are square and their side is yours "
                                   f"to choose; channels and vectors are fixed: docs/interfaces.md, section 1)")


def check_policy_width(connectome: Connectome, width: int, actions: int, task: str) -> None:
    """The policy port must have one logit per action of the task; an extra one would pick an invalid action."""
    if width == actions:
        return
    region = connectome.regions[connectome.policy.region]
    loc = (("regions", connectome.policy.region, "params", "actions") if "actions" in region.params
           else ("policy",))
    raise connectome.error(loc, f"`policy: {connectome.policy}` has {width} logits but task {task} has {actions} "
                           f"actions (0 turn right, 1 turn left, 2 forward): the worker would pick actions the task "
                           f"does not have", f"give the actor {actions} actions (`params: {{actions: {actions}}}` of "
                           f"{connectome.policy.region}, and of the memory region that feeds it)")


def preflight(cfg: TrainConfig, limits: Limits) -> tuple[Connectome, Estimate]:
    """Load and check ``cfg.connectome`` and everything of ``cfg`` the run will use, allocating nothing.

    Raises:
        ConnectomeError: the connectome, its size or its policy width (at the file and line).
        RecordingError: ``--record-regions`` or ``--record-compression``.
    """
    from brain.recording.spec import check_compression, check_regions

    connectome = load_connectome(cfg.connectome, lesions=cfg.lesions)
    check_regions(cfg.record_regions, connectome)
    check_compression(cfg.record_compression)
    probed = probe(connectome)
    cost = check(connectome, limits, cfg.workers, cfg.t_max, local_workers=cfg.backend == "local" or not cfg.address,
                 probed=probed, envs_per_worker=cfg.envs_per_worker)
    task = "curriculum" if cfg.curriculum else cfg.task
    try:
        env = task_environment(cfg, connectome)
    except ValueError as error:  # image sizes the renderer refuses, or settings of a hand-edited config.yaml
        shapes = {key: list(shape) for key, shape in connectome.inputs.items()}
        raise connectome.error(("inputs",), f"the environment of task {task} cannot be made for `inputs: {shapes}`: "
                               f"{error}", "check the image sizes under `inputs:` (and, on --resume, the run's "
                               "config.yaml)") from None
    check_inputs(connectome, {key: space.shape for key, space in port_spaces(env.observation_space).items()}, task)
    check_policy_width(connectome, probed[1][str(connectome.policy)][0], int(env.action_space.n), task)
    env.close()
    return connectome, cost


def checked_brain(connectome: Connectome, cfg: TrainConfig):
    """The run's brain, built, its ``--init-region`` weights loaded and one dry training pass run: what ``--check``
    and every new run do before anything is written. Returns the brain and what the run should be told of the
    loaded weights (:func:`brain.training.pretrained.load_pretrained`).

    Raises:
        ConnectomeError: a brain that cannot train (:func:`brain.engine.check.dry_run`), or an ``InitError``.
    """
    from brain.engine import Brain
    from brain.engine.check import dry_run
    from brain.training.pretrained import load_pretrained

    brain = Brain(connectome)
    notes = load_pretrained(brain, cfg.init_regions)
    dry_run(brain)
    return brain, notes
