"""Regions started from pre-trained weights: ``python -m brain.run --init-region entorhinal=runs/paths/entorhinal.pt``.

A pre-training (:mod:`brain.pretrain_paths`) writes a region's ``state_dict`` under ``"region"`` with what
the region was built as (:class:`Architecture`: type, params with the defaults written out, input shapes).
A new run loads it into its own region of that name in the master brain, before any worker starts, so
that every worker starts from it; a resumed run loads its checkpoint instead and never reads the file
again. Each file is checked against the run's region first, every problem an :class:`InitError` that
names the flag, the file and the fix (``brain.run`` prints it and exits with code 2 before training):

* the region must be one of the run's brain, and the file a pre-training's output of the same region type;
* every tensor must be there with its shape (a different one is named with both shapes and the params or
  inputs that differ between the two brains, the likely cause);
* params under which the same weights compute another function (``Region.function_params``: the
  entorhinal ``grid_activation``) must agree: loaded under another one, the weights would be a network
  that was never trained, so the run is refused;
* params that only scale an input (``Region.input_scales``: ``turn_scale``, ``move_scale``) may differ,
  as they do on purpose when an arena-trained integrator goes into a maze (``connectome/wba_arena_maze.yaml``):
  the run is told how much larger or smaller the same motion now reaches the weights, as it is told of
  other params that differ (teachers' fields, dropout: they shape learning, not what the weights compute).
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from brain.connectome import Connectome, load_connectome
from brain.errors import ConnectomeError
from regions.base import Region, Shape, complete_params

PRETRAINING = "python -m brain.pretrain_paths"


class InitError(ConnectomeError):
    """An ``--init-region`` that cannot start the run's region: the region, the file or their fit."""


@dataclass(frozen=True)
class Architecture:
    """What decides what a region's weights mean: its type, its complete params and its input shapes."""

    type: str
    params: dict[str, Any]
    input_shapes: dict[str, Shape]

    @classmethod
    def of(cls, connectome: Connectome, name: str, region: Region) -> "Architecture":
        """Region ``name`` of ``connectome``, built as ``region``."""
        spec = connectome.regions[name]
        return cls(spec.type, complete_params(spec.type, spec.params),
                   {port: tuple(shape) for port, shape in region.input_shapes.items()})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Architecture":
        return cls(values["type"], dict(values["params"]),
                   {port: tuple(shape) for port, shape in values["input_shapes"].items()})

    def to_dict(self) -> dict[str, Any]:
        """Plain values (what ``torch.load(..., weights_only=True)`` reads back)."""
        return {**asdict(self), "input_shapes": {port: list(shape) for port, shape in self.input_shapes.items()}}

    def differences(self, here: "Architecture", skip: tuple[str, ...] = ()) -> list[str]:
        """Each param and input that differs from ``here``'s, ``"hidden 128 in the file, 32 here"``."""
        lines = [f"{key} {self.params.get(key)} in the file, {here.params.get(key)} here"
                 for key in dict.fromkeys([*self.params, *here.params])
                 if key not in skip and self.params.get(key) != here.params.get(key)]
        for port in dict.fromkeys([*self.input_shapes, *here.input_shapes]):
            there_shape, here_shape = (_shown(shapes.get(port)) for shapes in (self.input_shapes, here.input_shapes))
            if there_shape != here_shape:
                lines.append(f"input {port} {there_shape} in the file, {here_shape} here")
        return lines


def _shown(shape: Shape | None) -> str:
    return "not connected" if shape is None else str(list(shape))


@dataclass(frozen=True)
class Pretrained:
    """A pre-training's output: the region's weights, what it was built as, and where it comes from."""

    weights: dict[str, torch.Tensor]
    architecture: Architecture
    origin: str  # "region entorhinal of wba_arena, 1500 updates"


def read_pretrained(path: Path, flag: str) -> Pretrained:
    """The pre-trained region in ``path``; an :class:`InitError` for a missing, unreadable or foreign file."""
    fix = f"give the REGION.pt that {PRETRAINING} wrote (e.g. runs/paths/entorhinal.pt)"

    def error(problem: str, fix: str = fix) -> InitError:
        return InitError(problem, fix=fix, file=str(path), field=flag)

    if not path.is_file():
        raise error("no such file" if not path.exists() else "is a directory, not a file",
                    f"{fix}, or pre-train one: {PRETRAINING} --connectome wba_arena --out runs/paths")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as problem:  # torch.load raises many types for a foreign, truncated or unreadable file
        detail = ("no torch file, or one holding Python objects besides tensors and plain values"
                  if isinstance(problem, pickle.UnpicklingError) else
                  f"{type(problem).__name__}: {(str(problem).strip().splitlines() or [''])[0][:200]}")
        raise error(f"cannot be read as a pre-trained region ({detail})",
                    f"{fix}; a run's checkpoint.pt is not one (to continue a run, use --resume)") from None
    if not _is_pretraining(payload):
        holds = ", ".join(map(str, payload)) if isinstance(payload, dict) else f"a {type(payload).__name__}"
        raise error(f"is not the output of a pre-training (one holds the region's weights under 'region' and the "
                    f"settings of {PRETRAINING} under 'settings'; this file holds: {holds})")
    settings = payload["settings"]
    origin = f"region {settings['region']} of {settings['connectome']}, {payload.get('updates', '?')} updates"
    if "architecture" in payload:
        return Pretrained(dict(payload["region"]), Architecture.from_dict(payload["architecture"]), origin)
    return Pretrained(dict(payload["region"]), _architecture_of(settings, error), origin)


def _is_pretraining(payload: Any) -> bool:
    """Whether ``payload`` has the layout :mod:`brain.pretrain_paths` writes (weights and settings)."""
    settings = payload.get("settings") if isinstance(payload, dict) else None
    return (isinstance(settings, Mapping) and {"connectome", "region"} <= set(settings)
            and isinstance(payload.get("region"), Mapping))


def _architecture_of(settings: Mapping[str, Any], error) -> Architecture:
    """The architecture of a file written before pre-trainings recorded it: its connectome's region, as it is now."""
    from brain.connectome.wiring import probe

    try:
        connectome = load_connectome(settings["connectome"])
        return Architecture.of(connectome, settings["region"], probe(connectome)[0][settings["region"]])
    except (ConnectomeError, KeyError) as problem:
        raise error(f"records no architecture (written before pre-trainings did), and its connectome "
                    f"{settings['connectome']!r} no longer gives one ({problem})",
                    f"pre-train it again: {PRETRAINING} --connectome {settings['connectome']} "
                    f"--region {settings['region']}") from None


def check_fits(pretrained: Pretrained, here: Architecture, region: Region, path: Path, flag: str) -> list[str]:
    """Refuse ``pretrained`` for ``region`` (built as ``here``) as the module says; what the run should be told."""
    there = pretrained.architecture

    def error(problem: str, fix: str) -> InitError:
        return InitError(problem, fix=fix, file=str(path), field=flag)

    if there.type != here.type:
        raise error(f"holds a region of type {there.type} ({pretrained.origin}), but this run's region is of type "
                    f"{here.type}", f"give it to a region of type {there.type}, or give this region a file "
                                    f"pre-trained as a {here.type}")
    cause = "; ".join(there.differences(here)) or "none of the params or inputs differ"
    same = f"build the region as the pre-training did (likely cause: {cause})"
    expected = region.state_dict()
    missing = [key for key in expected if key not in pretrained.weights]
    extra = [key for key in pretrained.weights if key not in expected]
    if missing or extra:
        listed = "; ".join(f"{what}: {', '.join(keys[:3])}" for what, keys in (("missing in the file", missing),
                                                                               ("not in this region", extra)) if keys)
        raise error(f"the tensors do not match this run's region ({listed})", same)
    for key, tensor in expected.items():
        shape = getattr(pretrained.weights[key], "shape", None)
        if shape != tensor.shape:
            raise error(f"tensor {key} has shape {list(shape) if shape is not None else 'none (not a tensor)'} in "
                        f"the file but {list(tensor.shape)} in this run's region", same)
    functions = [key for key in type(region).function_params if there.params.get(key) != here.params.get(key)]
    if functions:
        key = functions[0]
        raise error(f"{key} is {there.params.get(key)!r} in the file's region ({pretrained.origin}) but "
                    f"{here.params.get(key)!r} here: the loaded weights would compute another function than the one "
                    f"they were trained as",
                    f"set `{key}: {there.params.get(key)}` in the region's params of your connectome (for the "
                    f"mazes with an arena-trained entorhinal cortex: --connectome wba_arena_maze)")
    scales = [f"{key} {there.params[key]:g} in the file, {here.params[key]:g} here: the same input reaches the "
              f"loaded weights x{there.params[key] / here.params[key]:.3g}"
              for key in type(region).input_scales if there.params.get(key) != here.params.get(key)]
    others = there.differences(here, skip=type(region).input_scales)
    return scales + ([f"also differ (they shape learning, not what the weights compute): {'; '.join(others)}"]
                     if others else [])


def load_pretrained(brain: torch.nn.Module, inits: Mapping[str, str]) -> list[str]:
    """Load each ``region -> file`` of ``inits`` (``--init-region``) into ``brain`` after checking that it fits;
    returns what the run should be told, a line per region and one per notable difference."""
    lines = []
    for name, file in inits.items():
        flag = f"--init-region {name}={file}"
        if name not in brain.regions:
            problem = "is removed by a lesion" if name in brain.connectome.regions else "is no region"
            raise InitError(f"{name!r} {problem} of connectome {brain.connectome.name}; its regions: "
                            f"{', '.join(brain.regions)}", fix="name one of them (REGION=FILE)", field=flag)
        path = Path(file)
        pretrained = read_pretrained(path, flag)
        region = brain.regions[name]
        notes = check_fits(pretrained, Architecture.of(brain.connectome, name, region), region, path, flag)
        region.load_state_dict(pretrained.weights)
        lines += [f"--init-region {name}: weights from {file} ({pretrained.origin})"] + [f"  {note}" for note in notes]
    return lines
