"""libyaml reading gives the same documents, lines, columns and errors as the careful reader."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from menshen.errors import ConfigError
from menshen.inventory import yamlfast
from menshen.inventory.yamlfast import fast_documents
from menshen.manifest.yamltext import LineMapping, LineSequence, load_documents

pytestmark = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml"
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
)
KEYS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=40,
)


def shape(value: Any) -> Any:
    """A value with every line and column it carries, for comparing two readings."""
    if isinstance(value, LineMapping):
        items = [(k, value.key_lines[k], value.key_columns[k], shape(v)) for k, v in value.items()]
        return ("map", value.line, items)
    if isinstance(value, LineSequence):
        entries: list[tuple[int, int, Any]] = list(
            zip(value.item_lines, value.item_columns, map(shape, value), strict=True)
        )
        return ("seq", value.line, entries)
    return (type(value).__name__, value)


@pytest.fixture(autouse=True)
def every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take the libyaml path for small texts too."""
    monkeypatch.setattr(yamlfast, "MIN_CHARS", 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.dictionaries(KEYS, VALUES, max_size=6), min_size=1, max_size=3),
    st.sampled_from([None, True, False]),
    st.integers(20, 120),
    st.booleans(),
)
def test_fast_reading_equals_careful_reading(
    documents: list[dict[str, Any]], flow: bool | None, width: int, unicode: bool
) -> None:
    """Random documents, block or flow style, unicode or escaped: same values and places."""
    text = yaml.safe_dump_all(
        documents, default_flow_style=flow, width=width, allow_unicode=unicode, explicit_start=True
    )
    careful = [(line, shape(body)) for line, body in load_documents(text, "x.yaml")]
    fast = [(line, shape(body)) for line, body in fast_documents(text, "x.yaml")]
    assert fast == careful


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",
        "a: 1\nb: 2\na: 3\n",
        "1: one\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n",
        "a: [1, 2\n",
        "a: !custom 1\n",
        "a:\n\t- 1\n",
        "--- 1\n--- {a: 1, a: 2}\n",
        "a: 'x\x07'\n",
    ],
)
def test_unusual_text_fails_with_the_careful_readers_error(text: str) -> None:
    """Aliases, duplicate or non-string keys, syntax errors: the careful reader's message."""
    with pytest.raises(ConfigError) as careful:
        list(load_documents(text, "x.yaml"))
    with pytest.raises(ConfigError) as fast:
        fast_documents(text, "x.yaml")
    assert str(fast.value) == str(careful.value)


def test_a_merge_key_without_alias_reads_as_before() -> None:
    """A merge key is left to the careful reader, which accepts it as it always did."""
    text = "a:\n  <<: {x: 1}\n  y: 2\n"
    careful = [(line, shape(body)) for line, body in load_documents(text, "x.yaml")]
    assert [(line, shape(body)) for line, body in fast_documents(text, "x.yaml")] == careful
