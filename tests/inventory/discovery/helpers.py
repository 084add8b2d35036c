"""Small helpers for the discovery tests: feed text to a parser as numbered lines."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence

from hypothesis import strategies as st

from menshen.inventory.discovery.records import ParseReport, bounded_lines

Parser = Callable[[Iterable[tuple[int, str | None]], str], ParseReport]


def parse(parser: Parser, text: str, source: str = "input") -> ParseReport:
    return parser(bounded_lines(io.StringIO(text)), source)


def flows(report: ParseReport) -> set[tuple[str, str, str, int, int, bool]]:
    return {
        (str(o.source), str(o.destination), o.protocol, o.port, o.count, o.refused)
        for o in report.observations
    }


@st.composite
def mutated(draw: st.DrawFn, lines: Sequence[str]) -> str:
    """Valid lines with random damage: characters replaced, dropped or inserted."""
    out = []
    for line in draw(st.lists(st.sampled_from(list(lines)), max_size=8)):
        chars = list(line)
        for _ in range(draw(st.integers(0, 4))):
            if not chars:
                break
            at = draw(st.integers(0, len(chars) - 1))
            action = draw(st.sampled_from(["replace", "drop", "insert"]))
            noise = draw(
                st.sampled_from([" ", "=", "-", "0", "9", "x", ":", ",", '"', "\x00", "é"])
            )
            if action == "replace":
                chars[at] = noise
            elif action == "drop":
                del chars[at]
            else:
                chars.insert(at, noise)
        out.append("".join(chars))
    return "\n".join(out)
