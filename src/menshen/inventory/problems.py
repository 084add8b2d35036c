"""Where a value was written, and the error that lists every problem with its place.

Values parsed from a file keep an ``Origin`` (file, line, column, and the position of each
key of the item) so that checks across items — an unknown asset, two assets sharing an
address — can still point at the exact key. ``InvalidModel`` is a ``ConfigError`` whose
message reads like ``menshen.manifest.yamltext.LocatedError`` (``file:line:column: message``)
and which also carries every problem found, so a CSV with many bad rows is rejected with
each row's line number at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from menshen.errors import ConfigError

SHOWN = 20
"""How many problems the message of ``InvalidModel`` spells out; all are in ``problems``."""


@dataclass(frozen=True, slots=True)
class Origin:
    """A place in a source: file (or ``<store>``), 1-based line and column when known.

    ``keys`` holds the line and column of each key of a YAML mapping so an error can point
    at the offending field (a CSV row needs none: each of its columns is on the row's line).
    """

    source: str
    line: int | None = None
    column: int | None = None
    keys: tuple[tuple[str, int, int | None], ...] = ()

    def at(self, key: str | None) -> Origin:
        """The origin of ``key`` of this item (the item itself if the key is unknown)."""
        for name, line, column in self.keys:
            if name == key:
                return Origin(self.source, line, column)
        return Origin(self.source, self.line, self.column)

    def __str__(self) -> str:
        if self.line is None:
            return self.source
        if self.column is None:
            return f"{self.source}:{self.line}"
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, and where (None when built in code)."""

    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        return self.message if self.origin is None else f"{self.origin}: {self.message}"


def problem(message: str, origin: Origin | None, key: str | None = None) -> Problem:
    """A Problem at ``key`` of the item written at ``origin``."""
    return Problem(message, None if origin is None else origin.at(key))


class InvalidModel(ConfigError):
    """The input does not make a valid model; nothing was imported.

    ``problems`` lists every problem found, in input order; ``source``, ``line`` and
    ``column`` are those of the first one.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidModel needs at least one problem")
        self.problems = tuple(problems)
        first = self.problems[0]
        origin = first.origin or Origin("<model>")
        super().__init__(first.message, source=origin.source, line=origin.line)
        self.column = origin.column
        shown = "\n".join(f"  {item}" for item in self.problems[1:SHOWN])
        more = len(self.problems) - SHOWN
        tail = f"\n  … and {more} more problems" if more > 0 else ""
        head = str(first) if first.origin is not None else f"<model>: {first.message}"
        self.args = (head + ("\n" + shown if shown else "") + tail,)


def raise_if_any(problems: Sequence[Problem]) -> None:
    """Raise ``InvalidModel`` when ``problems`` is not empty."""
    if problems:
        raise InvalidModel(problems)
