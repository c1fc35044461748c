"""Everything a run will use, checked before it starts: what ``--check`` and every new or resumed run do.

A file that ``python -m brain.run --check`` accepts must train. Loading validates the connectome
(names, ports, cycles, lesions, numbers; :mod:`brain.validation`); this module adds what depends on
the run as well: the recording flags, the memory estimate against ``--max-memory-gb``
(:mod:`brain.budget`, sized on the ``meta`` device) and the policy's width against the task's
actions, so that none of them fails (or silently misbehaves) once the workers have started::

    >>> from brain.budget import Limits
    >>> connectome, cost = preflight(TrainConfig(connectome="wba"), Limits(max_memory_gb=64))
    >>> cost.parameters
    1770694
"""

from __future__ import annotations

from brain.budget import Estimate, Limits, check
from brain.config import TrainConfig
from brain.connectome import Connectome, load_connectome
from brain.wiring import probe


def task_actions(cfg: TrainConfig) -> int:
    """Actions of the environment the run trains in (embedded and Unity tasks alike: 3)."""
    import tasks

    return int(tasks.make("curriculum" if cfg.curriculum else cfg.task).action_space.n)


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
                 probed=probed)
    check_policy_width(connectome, probed[1][str(connectome.policy)][0], task_actions(cfg),
                       "curriculum" if cfg.curriculum else cfg.task)
    return connectome, cost
