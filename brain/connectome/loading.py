"""Reading connectome files: a bundled name or a path, its ``extends`` chain merged, then checked.

:func:`load_connectome` is the one way in: it finds the file (:func:`connectome_path`), reads it and
every file it extends with line marks (:mod:`brain.connectome.yamlmarks`), schema-checks the merge
(:class:`~brain.connectome.schema.Connectome`) and validates it against the region registry
(:mod:`brain.connectome.validation`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from brain.connectome.schema import BUNDLED, TOP_KEYS, Connectome
from brain.connectome.validation import validate
from brain.connectome.yamlmarks import LocDict, Mark, display_path, merge, read_yaml
from brain.errors import ConnectomeError

YAML_SUFFIXES = (".yaml", ".yml")


def find_connectome(source: str | os.PathLike, base_dir: Path | None = None) -> Path | None:
    """Resolve a connectome name or path: ``path``, ``base_dir/path``, then the bundled folder.

    A name without suffix also tries ``.yaml``: ``"wba"`` finds the bundled ``wba.yaml``.
    """
    path = Path(source)
    if not str(source).strip() or not path.name:
        return None
    names = [path] if path.suffix in YAML_SUFFIXES else [path, path.with_name(path.name + ".yaml")]
    folders = ([base_dir] if base_dir is not None and not path.is_absolute() else [Path()])
    if path.parent == Path():
        folders.append(BUNDLED)
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def connectome_path(source: Any, base_dir: Path | None = None, *, file: str | None = None, line: int | None = None,
                    field: str = "--connectome") -> Path:
    """:func:`find_connectome`, or the one error that says why ``source`` names no connectome file.

    ``file``/``line``: where ``source`` was written (an ``extends:`` line); None for the command line.
    """
    example = "`extends: wba.yaml`" if field == "extends" else "--connectome wba"
    if source is None or not str(source).strip():
        raise ConnectomeError("no file named (the value is empty)", file=file, line=line, field=field,
                              fix=f"name a connectome file, e.g. {example}" +
                                  (", or delete the line" if field == "extends" else ""))
    if not isinstance(source, (str, os.PathLike)):
        raise ConnectomeError(f"expected a file name, got {source!r}", file=file, line=line, field=field,
                              fix=f"write {example} (a path relative to this file, or a bundled name)")
    folder = Path(source) if base_dir is None or Path(source).is_absolute() else base_dir / source
    if folder.is_dir():
        raise ConnectomeError(f"{str(source)!r} is a directory, not a connectome file", file=file, line=line,
                              field=field, fix=f"name a .yaml file inside it, e.g. {example}")
    path = find_connectome(source, base_dir)
    if path is None:
        where = f"next to {file} or " if file else ""
        raise ConnectomeError(f"no connectome file {str(source)!r} {where}among the bundled ones "
                              f"({', '.join(bundled_connectomes())})", file=file, line=line, field=field,
                              fix="correct the name or the path" + (" (relative to this file's folder)" if file else
                                                                    ", or give a bundled name"))
    if path.suffix not in YAML_SUFFIXES:
        raise ConnectomeError(f"{str(source)!r} is not a YAML connectome file (its suffix is "
                              f"{path.suffix or 'missing'!s}; connectome files end in .yaml)", file=file, line=line,
                              field=field, fix=f"name a .yaml connectome file, e.g. {example}")
    return path


def bundled_connectomes() -> list[str]:
    """File names of the connectomes shipped in the ``connectome`` package."""
    return sorted(path.name for path in BUNDLED.glob("*.yaml"))


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> LocDict:
    """Read ``path`` and everything it extends, merged."""
    file = display_path(path)
    tree = read_yaml(path, file, TOP_KEYS)
    if "extends" not in tree:
        return merge(LocDict(mark=tree.mark), tree)
    extends, mark = tree.pop("extends"), tree.marks.pop("extends")
    base_path = connectome_path(extends, path.parent, file=file, line=mark.line, field="extends")
    if base_path.resolve() in chain or base_path.resolve() == path.resolve():
        raise ConnectomeError(f"{extends!r} extends this file again (a loop of extends)", file=file,
                              line=mark.line, field="extends", fix="remove one of the `extends:` lines of the loop")
    tree.extends = mark
    return merge(_resolve(base_path, chain + (path.resolve(),)), tree)


def load_connectome(source: str | os.PathLike, lesions: Mapping[str, Any] | None = None,
                    check: bool = True) -> Connectome:
    """Read a connectome by bundled name (``"wba"``, ``"wba.yaml"``) or path, merge ``extends``, check it.

    Args:
        source: bundled name or path.
        lesions: extra lesions on top of the file's (``{"ca3": "remove"}``; the CLI's ``--lesion``).
        check: also run :func:`brain.connectome.validation.validate` (names, types, ports, required inputs,
            cycles, lesions).

    Raises:
        ConnectomeError: the first problem, at its file and line.

    Example:
        >>> load_connectome("wba", lesions={"hippocampus": "remove"}).lesions
        {'hippocampus': 'remove'}
    """
    path = connectome_path(source)
    tree = _resolve(path)
    if lesions:
        extra = LocDict(lesions, marks={key: Mark("--lesion", None) for key in lesions}, mark=Mark("--lesion", None))
        tree = merge(tree, LocDict({"lesions": extra}, marks={"lesions": Mark("--lesion", None)}, mark=tree.mark))
    connectome = Connectome.from_tree(tree)
    if check:
        validate(connectome)
    return connectome
