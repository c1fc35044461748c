"""The connectome language: YAML files -> a validated :class:`Connectome` whose every value knows its line.

A connectome names the regions of a brain, their types (``regions.REGISTRY``), parameters
and anatomical positions, and wires their ports (``docs/interfaces.md`` §3-4)::

    name: wba
    space: allen_ccf_v3_um              # coordinate space of every `position`
    inputs: {rgb: [3, 84, 84], odometry: [2]}      # env ports and their shapes
    policy: prefrontal.logits           # the actor's output port
    value: basal_ganglia.value          # the critic's output port
    regions:
      ca3: {type: ca3, params: {units: 256}, position: [7507, 3254, 8264]}
    connections:
      - env.odometry -> entorhinal.self_motion          # short form: delay 0
      - {from: ca3.state, to: ca3.previous, delay: 1, weight: 2.3}
    lesions:
      hippocampus: remove               # or silence, or a fraction in (0, 1) of units silenced
      ca3.state -> ca3.previous: remove # a connection can be removed too

Variants are small files that extend a base (ablation without copies)::

    extends: wba.yaml                   # relative to this file's folder, else a bundled file
    name: wba_no_memory
    lesions: {hippocampus: remove}
    connections+:                       # `key+` appends to the base's list
      - env.depth -> amygdala.visual

Merge rule: mappings are merged key by key, recursively; any other value (lists too) replaces
the base's; a key written with a trailing ``+`` appends its list to the base's list. ``extends``
chains (a variant of a variant) are allowed. :meth:`Connectome.to_yaml` writes the resolved file
(merged, no ``extends``), which is what a run directory stores.

Every problem is raised as one :class:`~brain.errors.ConnectomeError` naming the file, line,
field, what was expected and the fix. :func:`load_connectome` checks everything that needs no
tensors (names, types, ports, required inputs, cycles, lesions); the engine checks shapes while
it builds the regions.

Modules: :mod:`~brain.connectome.yamlmarks` (YAML with line marks, merging), :mod:`~brain.connectome.schema`
(the fields), :mod:`~brain.connectome.loading` (files, ``extends``), :mod:`~brain.connectome.validation`
(against the region registry) and :mod:`~brain.connectome.wiring` (regions built, shapes checked, lesions).
"""

from brain.connectome.loading import bundled_connectomes, find_connectome, load_connectome
from brain.connectome.schema import Connectome, PortRef

__all__ = ["Connectome", "PortRef", "bundled_connectomes", "find_connectome", "load_connectome"]
