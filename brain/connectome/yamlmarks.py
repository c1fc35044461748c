"""YAML that remembers where every value was written, and the deep merge of ``extends``.

PyYAML's composer gives each node its start line; :func:`parse_yaml` keeps those lines next to
the plain values (:class:`LocDict`, :class:`LocList`), so that a problem found long after
parsing (a schema error, an unknown port, a size mismatch) can be reported at its file and line.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from brain.errors import ConnectomeError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it; same nodes

#: Largest YAML file read (a connectome is a few kB; a bigger file is almost surely not one).
MAX_FILE_BYTES = 1 << 20
#: Most values a YAML document may expand to, aliases counted each time they are used (alias bombs).
MAX_NODES = 100_000
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 50
#: Characters YAML forbids in a stream (PyYAML's reader rejects them with a traceback-only error).
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")
_SAVE_AS_UTF8 = "save the file as UTF-8 text (in most editors: Save As > Encoding: UTF-8)"


@dataclass(frozen=True)
class Mark:
    """Where a value was written: display path of the file and 1-based line (None if not a file)."""

    file: str
    line: int | None


class LocDict(dict):
    """A YAML mapping that remembers the mark of each key (and of itself, and of the ``extends:`` it was merged by)."""

    def __init__(self, items: Any = (), marks: Mapping[Any, Mark] | None = None, mark: Mark | None = None,
                 extends: Mark | None = None):
        super().__init__(items)
        self.marks: dict[Any, Mark] = dict(marks or {})
        self.mark = mark
        self.extends = extends


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


def read_yaml(path: Path, file: str, top_keys: tuple[str, ...] = ()) -> LocDict:
    """Read and parse a YAML file, refusing what is not UTF-8 text before the parser sees it.

    ``top_keys`` (the fields a top-level key may be) make the fix of a bad top-level key concrete.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConnectomeError(f"the file is {size:,} bytes; a connectome is a few kB (limit {MAX_FILE_BYTES:,})",
                                  file=file, fix="give the connectome's YAML file, not a data or binary file")
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConnectomeError("this is a directory, not a file", file=file,
                              fix="give a YAML file inside it, e.g. `connectome/wba.yaml`") from None
    except OSError as exc:
        raise ConnectomeError(f"cannot read the file: {exc.strerror}", file=file,
                              fix="check that the file exists and that you may read it") from None
    return parse_yaml(decode_yaml(data, file), file, top_keys)


def decode_yaml(data: bytes, file: str) -> str:
    """UTF-8 bytes -> text; a UTF-16 file, a binary file, another encoding or a control character is an error."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ConnectomeError("the file is UTF-16 or UTF-32 text (it starts with such a byte-order mark), not UTF-8",
                              file=file, line=1, fix=_SAVE_AS_UTF8)
    nul = data.find(b"\0")
    if nul >= 0:
        column = nul - data.rfind(b"\n", 0, nul)
        raise ConnectomeError(f"a NUL byte at column {column}: this is a binary file or "
                              f"UTF-16 text, not UTF-8 YAML", file=file, line=data.count(b"\n", 0, nul) + 1,
                              fix="give the connectome's .yaml file; if it is one, " + _SAVE_AS_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConnectomeError(f"byte 0x{data[exc.start]:02x} at column {column} is not UTF-8: the file is in another "
                              f"encoding (Latin-1 or Windows-1252, for instance)", file=file,
                              line=data.count(b"\n", 0, exc.start) + 1, fix=_SAVE_AS_UTF8) from None
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - text.rfind("\n", 0, bad.start())
        raise ConnectomeError(f"control character U+{ord(bad.group()):04X} at column {column}; YAML allows only "
                              f"printable text, tabs and line breaks", file=file, line=line,
                              fix="delete the character (it is often invisible: retype the line)")
    return text


def parse_yaml(text: str, file: str, top_keys: tuple[str, ...] = ()) -> LocDict:
    """YAML text -> LocDict, keeping the line of every key and list item.

    Aliases are counted each time they are used: a document that expands to more than
    :data:`MAX_NODES` values, or nests deeper than :data:`MAX_DEPTH`, is an error (a few hundred
    bytes of nested aliases would otherwise expand to gigabytes).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, file)
        tree = LocDict(mark=Mark(file, 1)) if node is None else _locate(loader, node, file, top_keys, 0)
    except yaml.MarkedYAMLError as exc:
        quote = "quoted scalar" in str(exc.context) and exc.context_mark is not None  # where the quote opens
        mark = exc.context_mark if quote else exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        fix = ("close the quote on this line (a quote inside the value is doubled in '...' and written \\\" in "
               "\"...\")") if quote else ("check the indentation, the colons and the quotes on this line and the one "
                                         "before (a value containing ': ' or '#' needs quotes)")
        raise ConnectomeError(f"YAML syntax error at column {column}: {problem}", file=file, line=line,
                              fix=fix) from None
    except yaml.YAMLError as exc:  # reader errors carry no mark; decode_yaml normally catches them first
        raise ConnectomeError(f"not YAML text: {exc}", file=file, fix=_SAVE_AS_UTF8) from None
    finally:
        loader.dispose()
    if not isinstance(tree, LocDict):
        raise ConnectomeError("the file is not a mapping of keys", file=file, line=1,
                              fix="start with top-level keys such as `name:`, `regions:` and `connections:`")
    return tree


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Size and depth of the document with every alias expanded, computed once per distinct node."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the path from the root: an alias back to one of them is a loop
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in size:
            continue
        children = _children(node)
        if not children_done:
            if id(node) in open_nodes:
                raise ConnectomeError("an alias `*name` inside the value of its own anchor `&name` (a loop)",
                                      file=file, line=node.start_mark.line + 1, fix="write the value out instead")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        open_nodes.discard(id(node))
        size[id(node)] = 1 + sum(size[id(child)] for child in children)
        height[id(node)] = 1 + max((height[id(child)] for child in children), default=0)
        line = node.start_mark.line + 1
        if size[id(node)] > MAX_NODES:
            raise ConnectomeError(f"the YAML here expands to more than {MAX_NODES:,} values (aliases `*name` repeat "
                                  f"what their anchor `&name` holds, each time they are used)", file=file, line=line,
                                  fix="write the values out, or use fewer nested aliases (a connectome needs a few "
                                      "hundred values)")
        if height[id(node)] > MAX_DEPTH:
            raise ConnectomeError(f"lists and mappings nested more than {MAX_DEPTH} deep", file=file, line=line,
                                  fix="flatten the nesting (a connectome nests about 4 deep)")


def _key_problem(node: yaml.Node, key: Any) -> str | None:
    """Why a mapping key is not a name (every key of a connectome is one), or None."""
    if not isinstance(node, yaml.ScalarNode):
        kind = "list" if isinstance(node, yaml.SequenceNode) else "mapping"
        return f"a {kind} is used as a key (YAML `? [...]` or `[...]:`); keys are names"
    if isinstance(key, str):
        return None
    if key is None:
        return f"an empty key (`{node.value or ''}:` reads as null); keys are names"
    if isinstance(key, bool):
        return f"key `{node.value}` reads as {str(key).lower()} in YAML, not as a name"
    kind = "a number" if isinstance(key, (int, float)) else type(key).__name__
    return f"key `{node.value}` reads as {kind}, not a name"


def _locate(loader: Any, node: yaml.Node, file: str, top_keys: tuple[str, ...] = (), depth: int = 1) -> Any:
    mark = Mark(file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # YAML merge keys (<<), as SafeLoader does
        out = LocDict(mark=mark)
        for key_node, value_node in node.value:
            key_mark = Mark(file, key_node.start_mark.line + 1)
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            problem = _key_problem(key_node, key)
            if problem is not None:
                fix = (f"write a field name before the colon ({', '.join(top_keys)})" if depth == 0 and top_keys
                       else "write a name before the colon")
                if isinstance(key_node, yaml.ScalarNode):
                    fix += f"; to keep this text as a name, quote it: '{key_node.value}':"
                else:
                    fix += " (a line starting with `? ` makes what follows a key: remove the `?`)"
                raise ConnectomeError(problem, file=file, line=key_mark.line, fix=fix)
            if key in out:
                raise ConnectomeError(f"duplicate key {key!r} (first written at line {out.marks[key].line})",
                                      file=file, line=key_mark.line, fix="keep one of the two")
            out[key], out.marks[key] = _locate(loader, value_node, file, top_keys, depth + 1), key_mark
        return out
    if isinstance(node, yaml.SequenceNode):
        items = [_locate(loader, item, file, top_keys, depth + 1) for item in node.value]
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
    out = LocDict(base, marks=base.marks, mark=over.mark or base.mark, extends=over.extends or base.extends)
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


def locate(tree: LocDict, loc: tuple[str | int, ...], exact: bool = False) -> Mark | None:
    """Mark of the deepest written node along ``loc`` (e.g. ``("regions", "ca3", "type")``).

    ``exact``: the mark of ``loc`` itself, or None when it is not written.
    """
    mark, node = tree.mark, tree
    for part in loc:
        if isinstance(node, LocDict) and part in node:
            mark, node = node.marks[part], node[part]
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            mark, node = node.marks[part], node[part]
        elif exact:
            return None
        else:
            break
    return mark or Mark("<connectome>", None)


def dump_yaml(doc: Any) -> str:
    """YAML text of plain data; lists of scalars and :class:`Flow` mappings are written on one line."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)
