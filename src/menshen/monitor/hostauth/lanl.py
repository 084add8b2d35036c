"""The LANL authentication text format → ``ObservedEvent`` (Kent 2015, doi:10.17021/1179829).

One event per line, nine comma-separated fields:
``time,source_user@domain,destination_user@domain,source_computer,destination_computer,
auth_type,logon_type,auth_orientation,success_or_failure``. ``time`` is whole seconds from the
start of the collection (mapped onto ``origin``, an arbitrary midnight, so ``day = time //
86400`` survives); ``?`` marks an unknown value (→ None); computer accounts end in ``$``.
The event's user is the source user (the account that authenticated); the orientation
(LogOn, LogOff, TGS, TGT, AuthMap…) becomes the action in lower case.

Fast on purpose (``bench/monitor.py`` measures it): one ``split``, interned names, and one
``datetime`` per distinct second rather than per line. Pure: lines in, events out; a bad line
raises ``InvalidInput`` with the reason and the caller counts it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from menshen.errors import InvalidInput
from menshen.monitor.model import Category, EventOutcome, ObservedEvent

__all__ = ["LANL_ORIGIN", "LanlReader", "Malformed", "day_of"]

LANL_ORIGIN = datetime(2015, 1, 1, tzinfo=UTC)  # arbitrary: the data set's dates are hidden
_MAX_FIELD = 256
_OUTCOMES = {"Success": EventOutcome.SUCCESS, "Fail": EventOutcome.FAILURE}
_intern = sys.intern


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line that could not be read: where and why (the caller quarantines it)."""

    line_number: int
    reason: str


@dataclass(slots=True)
class LanlReader:
    """Reads LANL lines for one tenant; keeps the last second's ``datetime`` to reuse."""

    tenant_id: str
    source: str = "lanl"
    origin: datetime = LANL_ORIGIN
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0
    _second: int = -1
    _at: datetime = LANL_ORIGIN
    _actions: dict[str, str] = field(default_factory=dict)

    def parse(self, line: str, number: int) -> ObservedEvent:
        """One line (with or without its newline) → an event; ``InvalidInput`` if malformed."""
        parts = line.rstrip("\r\n").split(",")
        if len(parts) != 9:
            raise InvalidInput(f"expected 9 comma-separated fields, found {len(parts)}")
        stamp, src_user, _dst_user, src, dst, auth, logon, orientation, result = parts
        try:
            second = int(stamp)
        except ValueError:
            raise InvalidInput("the time is not a whole number of seconds") from None
        if second < 0 or second > 10 * 365 * 86400:
            raise InvalidInput("the time lies outside the collection")
        if len(line) > _MAX_FIELD and max(map(len, parts)) > _MAX_FIELD:
            raise InvalidInput(f"a field is longer than {_MAX_FIELD} characters")
        outcome = _OUTCOMES.get(result)
        if outcome is None:
            raise InvalidInput("the outcome is neither Success nor Fail")
        if not orientation or orientation == "?":
            raise InvalidInput("the orientation is missing")
        if second != self._second:
            self._second = second
            self._at = self.origin + timedelta(seconds=second)
        action = self._actions.get(orientation)
        if action is None:
            action = self._actions[orientation] = _intern(orientation.lower())
        return ObservedEvent(
            tenant_id=self.tenant_id,
            at=self._at,
            source=self.source,
            event_id=str(number),
            category=Category.AUTHENTICATION,
            action=action,
            outcome=outcome,
            user=_name(src_user),
            src_host=_name(src),
            dst_host=_name(dst),
            auth_type=_name(auth),
            logon_type=_name(logon),
        )

    def read(self, lines: Iterable[str], first_number: int = 1) -> Iterator[ObservedEvent]:
        """Every readable line as an event; unreadable ones counted (the first 100 kept)."""
        for number, line in enumerate(lines, first_number):
            if not line.strip():
                continue
            try:
                yield self.parse(line, number)
            except InvalidInput as exc:
                self.malformed_count += 1
                if len(self.malformed) < 100:
                    self.malformed.append(Malformed(number, str(exc)))


def _name(value: str) -> str | None:
    return None if value == "?" or not value else _intern(value)


def day_of(event: ObservedEvent, origin: datetime = LANL_ORIGIN) -> int:
    """The LANL day (``time // 86400``) of an event read with ``origin``."""
    return int((event.at - origin).total_seconds() // 86400)
