"""The one error type of connectome loading, validation and compilation.

Every problem a user can make in a connectome file is reported as a :class:`ConnectomeError`
whose message reads like a compiler diagnostic, so that editors and terminals can jump to it::

    connectome/my.yaml:14: connections[3]: unknown port 'ca1.cod'; ca1 has ports ca3, ec, ... Fix: ...

The CLI prints the message alone (no traceback) and exits with code 2.
"""

from __future__ import annotations


class ConnectomeError(ValueError):
    """A connectome that cannot be loaded, validated or built.

    Attributes:
        file: the YAML file (or ``"--lesion"`` for command-line lesions); ``None`` if unknown.
        line: 1-based line in ``file``; ``None`` if unknown.
        field: the YAML field, e.g. ``"regions.ca3.type"`` or ``"connections[4]"``.
        problem: what is wrong and what was expected.
        fix: how to fix it.
    """

    def __init__(self, problem: str, *, fix: str, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.file, self.line, self.field, self.problem, self.fix = file, line, field, problem, fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line) if part is not None)
        prefix = "".join(f"{part}: " for part in (where, self.field) if part)
        return f"{prefix}{self.problem}. Fix: {self.fix}"


class ConfigError(ConnectomeError):
    """A training config (a run's ``config.yaml``) with a bad key or value, reported like a connectome problem."""
