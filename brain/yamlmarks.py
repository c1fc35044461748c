"""YAML that remembers where every value was written, and the deep merge of ``extends``.

PyYAML's composer gives each node its start line; :func:`parse_yaml` keeps those lines next to
the plain values (:class:`LocDict`, :class:`LocList`), so that a problem found long after
parsing (a schema error, an unknown port, a size mismatch) can be reported at its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from brain.errors import ConnectomeError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it; same nodes


@dataclass(frozen=True)
class Mark:
    """Where a value was written: display path of the file and 1-based line (None if not a file)."""

    file: str
    line: int | None


class LocDict(dict):
    """A YAML mapping that remembers the mark of each key (and of itself)."""

    def __init__(self, items: Any = (), marks: Mapping[Any, Mark] | None = None, mark: Mark | None = None):
        super().__init__(items)
        self.marks: dict[Any, Mark] = dict(marks or {})
        self.mark = mark


class LocList(list):
    """A YAML sequence that remembers the mark of each item."""

    def __init__(self, items: Any = (), marks: list[Mark] | None = None):
        super().__init__(items)
        self.marks: list[Mark] = list(marks or [])


def display_path(path: Path) -> str:
    """Path as the user will want to read it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_yaml(text: str, file: str) -> LocDict:
    """YAML text -> LocDict, keeping the line of every key and list item."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        tree = LocDict(mark=Mark(file, 1)) if node is None else _locate(loader, node, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ConnectomeError(f"YAML syntax error at column {column}: {problem}", file=file, line=line,
                              fix="check the indentation, the colons and the quotes on this line and the one "
                                  "before (a value containing ': ' or '#' needs quotes)") from None
    finally:
        loader.dispose()
    if not isinstance(tree, LocDict):
        raise ConnectomeError("the file is not a mapping of keys", file=file, line=1,
                              fix="start with top-level keys such as `name:`, `regions:` and `connections:`")
    return tree


def _locate(loader: Any, node: yaml.Node, file: str) -> Any:
    mark = Mark(file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<), as SafeLoader does
        out = LocDict(mark=mark)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_mark = Mark(file, key_node.start_mark.line + 1)
            if key in out:
                raise ConnectomeError(f"duplicate key {key!r} (first written at line {out.marks[key].line})",
                                      file=file, line=key_mark.line, fix="keep one of the two")
            out[key], out.marks[key] = _locate(loader, value_node, file), key_mark
        return out
    if isinstance(node, yaml.SequenceNode):
        items = [_locate(loader, item, file) for item in node.value]
        return LocList(items, [Mark(file, item.start_mark.line + 1) for item in node.value])
    return loader.construct_object(node, deep=True)


def plain(value: Any) -> Any:
    """LocDict/LocList -> dict/list (for pydantic and for dumping)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def merge(base: LocDict, over: LocDict) -> LocDict:
    """Deep merge: mappings key by key, other values replaced, ``key+`` appends a list to the base's.

    Marks travel with the values, so an error in a merged connectome points at the file that wrote it.
    """
    out = LocDict(base, marks=base.marks, mark=over.mark or base.mark)
    for key, value in over.items():
        mark = over.marks.get(key, over.mark)
        if isinstance(key, str) and key.endswith("+"):
            key = key[:-1]
            old = out.get(key, LocList())
            if not (isinstance(value, list) and isinstance(old, list)):
                raise ConnectomeError(f"`{key}+:` appends a list to a list, but here the value or the base's "
                                      f"`{key}` is not a list", file=mark.file, line=mark.line, field=f"{key}+",
                                      fix=f"write a list under `{key}+:`, or use `{key}:` to replace the value")
            value = LocList(old + value, marks=getattr(old, "marks", []) + value.marks)
        elif isinstance(value, LocDict):
            value = merge(out[key] if isinstance(out.get(key), LocDict) else LocDict(mark=value.mark), value)
        out[key], out.marks[key] = value, mark
    return out


class Flow(dict):
    """A mapping written on one line (``{type: ca3, params: {...}}``) by :func:`dump_yaml`."""


class _Dumper(yaml.SafeDumper):
    """Short lists and :class:`_Flow` mappings in flow style, everything else in block style."""


_Dumper.add_representer(Flow, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data.items(), flow_style=True))
_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=all(not isinstance(item, (dict, list)) for item in data)))
_Dumper.add_representer(tuple, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", list(data), flow_style=True))


def locate(tree: LocDict, loc: tuple[str | int, ...]) -> Mark:
    """Mark of the deepest written node along ``loc`` (e.g. ``("regions", "ca3", "type")``)."""
    mark, node = tree.mark, tree
    for part in loc:
        if isinstance(node, LocDict) and part in node:
            mark, node = node.marks[part], node[part]
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            mark, node = node.marks[part], node[part]
        else:
            break
    return mark or Mark("<connectome>", None)


def dump_yaml(doc: Any) -> str:
    """YAML text of plain data; lists of scalars and :class:`Flow` mappings are written on one line."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)
