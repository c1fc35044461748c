"""The connectome's schema: what each field of a connectome file may hold, checked by pydantic.

A :class:`Connectome` is a resolved, schema-checked file (:func:`brain.connectome.loading.load_connectome`
makes one) whose every value knows the file and line it was written at, so that every later
problem names the user's own line (:meth:`Connectome.error`). The file format and the merge rule of
variants are described in :mod:`brain.connectome`.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import networkx as nx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, PrivateAttr, ValidationError
from pydantic_core import PydanticCustomError

from brain.connectome.yamlmarks import Flow, LocDict, Mark, dump_yaml, locate, plain
from brain.errors import ConnectomeError

BUNDLED = Path(str(importlib.resources.files("connectome")))
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PORT_RE = re.compile(rf"^({_NAME})\.({_NAME})$")
CONNECTION_RE = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s*$")
Loc = tuple[str | int, ...]


class PortRef(NamedTuple):
    """A port written ``region.port`` (``env.<key>`` for environment ports)."""

    region: str
    port: str

    def __str__(self) -> str:
        return f"{self.region}.{self.port}"


def _custom(problem: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError("connectome", "{problem}", {"problem": problem, "fix": fix})


def _port_ref(value: Any) -> Any:
    if isinstance(value, PortRef):
        return value
    match = _PORT_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise _custom(f"expected a port `region.port`, got {value!r}",
                      "write it as region.port, e.g. `ca3.state` or `env.rgb`")
    return PortRef(*match.groups())


def _region_name(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(_NAME, value) or value == "env":
        raise _custom(f"bad region name {value!r}: expected a Python-style identifier other than `env` "
                      "(`env` stands for the environment)", "rename it, e.g. `visual_cortex`")
    return value


def _lesion_mode(value: Any) -> Any:
    if value in ("remove", "silence"):
        return value
    try:
        fraction = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        fraction = None
    if fraction is None or not 0.0 < fraction < 1.0:
        raise _custom(f"bad lesion mode {value!r}: expected `remove`, `silence` or a fraction in (0, 1)",
                      "write e.g. `hippocampus: remove`, `amygdala: silence` or `entorhinal: 0.5`")
    return fraction


Port = Annotated[PortRef, BeforeValidator(_port_ref)]
LesionMode = Annotated[str | float, BeforeValidator(_lesion_mode)]


class RegionSpec(BaseModel):
    """One region: its registered ``type``, constructor ``params``, anatomical ``position``, short ``label`` and
    the weights of its auxiliary losses where they differ from the region's defaults (``aux_weights``).

    The label (an atlas acronym such as ``CA3`` or ``VISp``) names the region in plots, where the
    region's own name would be long and collide with its neighbours'.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    position: tuple[float, float, float] | None = None
    label: str | None = None
    aux_weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{type, params, position, label, aux_weights}`` without defaults, ready to dump (whole coordinates as
        integers)."""
        out: dict[str, Any] = {"type": self.type}
        if self.params:
            out["params"] = Flow(self.params)
        if self.aux_weights:
            out["aux_weights"] = Flow(self.aux_weights)
        if self.position is not None:
            out["position"] = [int(x) if float(x).is_integer() else x for x in self.position]
        if self.label is not None:
            out["label"] = self.label
        return out


class Connection(BaseModel):
    """One edge ``source -> target``; ``delay`` steps (0: same step); ``weight`` is for plots only."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: Port = Field(alias="from")
    target: Port = Field(alias="to")
    delay: int = Field(0, ge=0)
    weight: float | None = None

    @classmethod
    def parse(cls, value: Any) -> Any:
        """``"a.out -> b.in"`` -> ``{from, to}``; mappings pass through."""
        if not isinstance(value, str):
            return value
        match = CONNECTION_RE.match(value)
        if match is None:
            raise _custom(f"bad connection {value!r}: expected `source.port -> target.port`",
                          "write e.g. `- ca3.state -> ca1.ca3`, or the long form "
                          "`- {from: ca3.state, to: ca3.previous, delay: 1}`")
        return {"from": match.group(1), "to": match.group(2)}

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"

    def as_dict(self) -> dict[str, Any]:
        """The long form ``{from, to, delay, weight}``, without defaults."""
        out: dict[str, Any] = {"from": str(self.source), "to": str(self.target)}
        if self.delay:
            out["delay"] = self.delay
        if self.weight is not None:
            out["weight"] = self.weight
        return out


CONNECTION = Annotated[Connection, BeforeValidator(Connection.parse)]
FIELD_HELP = {
    "name": "a short name, e.g. `name: wba`",
    "description": "one line of text",
    "space": "the coordinate space of `position`, e.g. `space: allen_ccf_v3_um`",
    "inputs": "environment port -> shape, e.g. `inputs: {rgb: [3, 84, 84], odometry: [2]}`",
    "policy": "the actor's output port, e.g. `policy: prefrontal.logits`",
    "value": "the critic's output port, e.g. `value: basal_ganglia.value`",
    "regions": "region name -> {type, params, position, label}",
    "type": "a registered region type, e.g. `type: ca3`",
    "params": "the region's constructor arguments as a mapping, e.g. `params: {units: 256}`",
    "position": "three coordinates in the file's `space`, e.g. `position: [7507, 3254, 8264]`",
    "label": "a short anatomical name shown in plots, e.g. `label: CA3`",
    "aux_weights": "teacher name -> weight >= 0 of its loss, e.g. `aux_weights: {place_cells: 0.2}`",
    "imports": "a list of Python modules that register region types, e.g. `imports: [my_lab.thalamus]`",
    "connections": "a list of `source.port -> target.port` or `{from, to, delay, weight}`",
    "delay": "a whole number of steps >= 0 (0: the same step)",
    "weight": "a number (edge width in plots; the engine ignores it)",
    "lesions": "region (or connection) -> `remove`, `silence` or a fraction in (0, 1)",
}


class Connectome(BaseModel):
    """A resolved, schema-checked connectome. :func:`load_connectome` makes one from a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    imports: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]] = Field(
        default_factory=list)
    space: str | None = None
    inputs: dict[str, Annotated[tuple[PositiveInt, ...], Field(min_length=1)]]
    policy: Port
    value: Port
    regions: dict[Annotated[str, BeforeValidator(_region_name)], RegionSpec]
    connections: list[CONNECTION] = Field(default_factory=list)
    lesions: dict[str, LesionMode] = Field(default_factory=dict)
    _tree: LocDict = PrivateAttr(default_factory=LocDict)

    @classmethod
    def from_tree(cls, tree: LocDict) -> Connectome:
        """Schema-check a merged YAML tree; the first problem becomes a ConnectomeError at its line."""
        try:
            connectome = cls.model_validate(plain(tree))
        except ValidationError as exc:  # report the problem written first in the file
            errors = sorted(exc.errors(), key=lambda e: locate(tree, _clean_loc(e["loc"])).line or 0)
            raise _schema_error(tree, errors[0]) from None
        connectome._tree = tree
        return connectome

    # --- where things are written ---
    def where(self, loc: Loc) -> Mark:
        """Mark of the deepest written node along ``loc`` (e.g. ``("regions", "ca3", "type")``)."""
        return locate(self._tree, loc)

    def error(self, loc: Loc, problem: str, fix: str) -> ConnectomeError:
        """A ConnectomeError pointing at ``loc``, or at the line of this file that made a base's ``loc`` wrong.

        A variant that changes ``inputs:`` or a region's params, or adds a connection, can break a
        line of the base it extends; the user edits the variant, so the error names the variant's
        line and field, and says which line of the base it broke. A base that is wrong by itself
        (not a bundled one) is still named.
        """
        mark, top = self.where(loc), self._tree.mark
        if top is None or mark.file == top.file or mark.line is None:  # this file, or a --lesion flag
            return ConnectomeError(problem, fix=fix, file=mark.file, line=mark.line, field=_field(loc))
        causes = self._causes(loc)
        written = [locate(self._tree, cause, exact=True) for cause in causes]
        blamed, blame = next(((cause, where) for cause, where in zip(causes, written)
                              if where is not None and where.file == top.file), (None, None))
        if blamed is None and not _is_bundled(mark.file):
            return ConnectomeError(problem, fix=fix, file=mark.file, line=mark.line, field=_field(loc))
        blame = blame or self._tree.extends or top
        field = _field(blamed) if blamed else "extends"
        return ConnectomeError(f"{problem} (at {mark.file}:{mark.line} {_field(loc)}, which this file's `{field}` "
                               f"changes)", fix=fix, file=blame.file, line=blame.line, field=field)

    def _causes(self, loc: Loc) -> list[Loc]:
        """Places a variant may have written that an error at ``loc`` depends on, most specific first."""
        causes = [loc[:n] for n in range(len(loc), 1, -1)]
        regions: set[str] = set()
        if loc[0] == "connections" and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(self.connections):
            conn = self.connections[loc[1]]
            regions = {conn.source.region, conn.target.region}
        elif loc[0] == "regions" and len(loc) > 1:
            regions = {str(loc[1])}
        elif loc[0] in ("policy", "value"):
            regions = {getattr(self, loc[0]).region}
        for index, conn in enumerate(self.connections):
            if {conn.source.region, conn.target.region} & regions:
                causes.append(("connections", index))
                causes.append(("inputs", conn.source.port) if conn.source.region == "env"
                              else ("regions", conn.source.region, "params"))
        for name in sorted(regions):
            causes += [("regions", name, "params"), ("regions", name), ("lesions", name)]
        return causes

    @property
    def file(self) -> str:
        """Display path of the top file (the one given to :func:`load_connectome`)."""
        return self._tree.mark.file if self._tree.mark else "<connectome>"

    # --- views ---
    def edge_lesion(self, connection: Connection) -> str | None:
        """``"remove"`` when a ``lesions:`` key names this connection, else None."""
        for key, mode in self.lesions.items():
            match = CONNECTION_RE.match(key)
            if match and (match.group(1), match.group(2)) == (str(connection.source), str(connection.target)):
                return str(mode)
        return None

    def graph(self) -> nx.MultiDiGraph:
        """The full (un-lesioned) graph: node ``env`` plus one node per region, one edge per connection.

        Nodes carry ``type``, ``position`` and ``lesion``; edges are keyed by connection index and carry
        ``source``/``target`` (port names), ``delay``, ``weight`` and ``lesion``.
        """
        graph = nx.MultiDiGraph(name=self.name)
        graph.add_node("env", type="env", position=None, lesion=None)
        for name, spec in self.regions.items():
            graph.add_node(name, type=spec.type, position=spec.position, lesion=self.lesions.get(name))
        for index, conn in enumerate(self.connections):
            graph.add_edge(conn.source.region, conn.target.region, key=index, source=conn.source.port,
                           target=conn.target.port, delay=conn.delay, weight=conn.weight,
                           lesion=self.edge_lesion(conn))
        return graph

    def to_yaml(self) -> str:
        """The resolved connectome as YAML (no ``extends``); loading it gives an equal Connectome."""
        doc: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.imports:
            doc["imports"] = list(self.imports)
        if self.space is not None:
            doc["space"] = self.space
        doc["inputs"] = {key: list(shape) for key, shape in self.inputs.items()}
        doc["policy"], doc["value"] = str(self.policy), str(self.value)
        doc["regions"] = {name: spec.as_dict() for name, spec in self.regions.items()}
        doc["connections"] = [str(conn) if conn.delay == 0 and conn.weight is None else Flow(conn.as_dict())
                              for conn in self.connections]
        if self.lesions:
            doc["lesions"] = dict(self.lesions)
        return dump_yaml(doc)


TOP_KEYS = (*Connectome.model_fields, "extends")


def _is_bundled(file: str) -> bool:
    """The file is one of the connectomes shipped in the ``connectome`` package."""
    return Path(file).resolve().parent == BUNDLED.resolve()


def _field(loc: Loc) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _clean_loc(loc: tuple) -> Loc:
    """Pydantic's error location without its internal steps (``[key]``, ``function-before[...]``)."""
    return tuple(part for part in loc if not (isinstance(part, str) and part.startswith(("[", "function-"))))


def _schema_error(tree: LocDict, error: dict[str, Any]) -> ConnectomeError:
    """One pydantic error -> a ConnectomeError at the line of the offending value."""
    loc = _clean_loc(error["loc"])
    help_text = next((FIELD_HELP[part] for part in reversed(loc) if part in FIELD_HELP), "a valid value")
    if error["type"] == "connectome":
        problem, fix = error["ctx"]["problem"], error["ctx"]["fix"]
    elif error["type"] == "missing" and isinstance(loc[-1], str):
        problem, fix = f"missing required field `{loc[-1]}`", f"add `{loc[-1]}:` with {help_text}"
        mark = locate(tree, loc[:-1])
        return ConnectomeError(problem, fix=fix, file=mark.file, line=mark.line, field=_field(loc))
    elif error["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        where = "top-level key" if len(loc) == 1 else "key"
        problem = f"unknown {where} `{loc[-1]}`; expected one of: {', '.join(allowed)}"
        fix = "remove it, or correct its spelling"
    else:
        problem = f"{error['msg']} (got {error['input']!r})"
        fix = f"write {help_text}"
    mark = locate(tree, loc)
    return ConnectomeError(problem, fix=fix, file=mark.file, line=mark.line, field=_field(loc))


def _allowed_keys(loc: Loc) -> list[str]:
    if len(loc) == 1:
        return list(TOP_KEYS)
    if loc[0] == "regions":
        return list(RegionSpec.model_fields)
    return ["from", "to", "delay", "weight"]
