"""Forged, cross-site or malformed posts to the console change nothing and write nothing."""

from __future__ import annotations

import pytest

from menshen.console import Admitted
from menshen.console.forms import FormGuard
from menshen.monitor.incidents.model import IncidentState
from menshen.monitor.model import Entity, EntityKind
from menshen.store.sql import SqlStore
from tests.console.monitor_world import MonitorConsole

LIST = "/console/incidents"
BOB = Entity(EntityKind.USER, "u-bob")
BROWSER = {"origin": "https://apps.firm.example", "sec-fetch-site": "same-origin"}


@pytest.fixture
def world(store: SqlStore) -> MonitorConsole:
    return MonitorConsole(store)


def _untouched(world: MonitorConsole, incident_id: str) -> None:
    stored = world.book.get("t1", incident_id)
    assert stored.state is IncidentState.OPEN
    assert stored.acknowledged_at is None
    assert stored.closed_at is None
    assert world.audit() == []


def test_post_without_a_token_changes_nothing(world: MonitorConsole) -> None:
    """No csrf field, an empty one or a made-up one: 403 and the incident stays open."""
    inc = world.incident()
    close = f"{LIST}/{inc}/close"
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": "not hex"}):
        answer = world.post(close, data, headers=BROWSER)
        assert answer.status_code == 403, data
        assert "Nothing was changed" in answer.text
    _untouched(world, inc)


def test_token_of_another_form_incident_or_admin_is_refused(world: MonitorConsole) -> None:
    """A token is bound to its form's path, the admin and the admin's gateway session."""
    inc = world.incident()
    other = world.incident(tenant_id="t1", subject=BOB, source_ip=None)
    close = f"{LIST}/{inc}/close"
    tokens = world.forms(f"{LIST}/{inc}")
    assert world.post(close, {"csrf": tokens[f"{LIST}/{inc}/acknowledge"]}).status_code == 403
    other_close = world.forms(f"{LIST}/{other}")[f"{LIST}/{other}/close"]
    assert world.post(close, {"csrf": other_close}).status_code == 403
    ben = world.token(username="ben", session="s-ben")
    assert world.post(close, {"csrf": tokens[close]}, token=ben).status_code == 403
    new_session = world.token(session="s-mei-2")
    assert world.post(close, {"csrf": tokens[close]}, token=new_session).status_code == 403
    _untouched(world, inc)
    assert world.book.get("t1", other).state is IncidentState.OPEN
    assert world.post(close, {"csrf": tokens[close]}).status_code == 303  # the right one works


def test_cross_site_origin_or_fetch_metadata_is_refused_even_with_a_token(
    world: MonitorConsole,
) -> None:
    """A valid token from a page on another site (Origin, Sec-Fetch-Site) changes nothing."""
    inc = world.incident()
    close = f"{LIST}/{inc}/close"
    token = world.forms(f"{LIST}/{inc}")[close]
    for headers in (
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://apps.firm.example"},  # another scheme is another origin
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": "https://apps.firm.example"},
    ):
        assert world.post(close, {"csrf": token}, headers=headers).status_code == 403, headers
    _untouched(world, inc)


def test_body_that_is_not_a_small_form_is_refused(world: MonitorConsole) -> None:
    """JSON, multipart, an oversized body or a repeated field: 403, nothing changed."""
    inc = world.incident()
    close = f"{LIST}/{inc}/close"
    token = world.forms(f"{LIST}/{inc}")[close]
    base = {"x-menshen-assertion": world.token(), **BROWSER}
    answers = [
        world.client.post(close, json={"csrf": token}, headers=base),
        world.client.post(close, files={"csrf": (None, token)}, headers=base),
        world.client.post(
            close,
            content=f"csrf={token}&pad={'x' * 17000}",
            headers={**base, "content-type": "application/x-www-form-urlencoded"},
        ),
        world.client.post(
            close,
            content=f"csrf={token}&csrf={token}",
            headers={**base, "content-type": "application/x-www-form-urlencoded"},
        ),
        world.client.post(
            close,
            content=b"csrf=\xff\xfe",
            headers={**base, "content-type": "application/x-www-form-urlencoded"},
        ),
    ]
    assert [answer.status_code for answer in answers] == [403] * 5
    _untouched(world, inc)


def test_only_signed_in_admins_may_post_and_get_cannot_change(world: MonitorConsole) -> None:
    """No assertion: 401; not an admin: 403; GET on a form's path: 405; nothing changed."""
    inc = world.incident()
    close = f"{LIST}/{inc}/close"
    token = world.forms(f"{LIST}/{inc}")[close]
    anonymous = world.client.post(close, data={"csrf": token}, headers=BROWSER)
    assert anonymous.status_code == 401
    clerk = world.token(username="mei", groups=("finance-ops",))
    assert world.post(close, {"csrf": token}, token=clerk).status_code == 403
    assert world.get(close).status_code == 405
    _untouched(world, inc)


def test_form_tokens_need_a_session_and_a_long_key() -> None:
    """No sid in the assertion: no token fits; a short key is refused at start-up."""
    guard = FormGuard(bytes(32))
    with_session = Admitted("u-mei", "mei", ("admins",), "s-1")
    without = Admitted("u-mei", "mei", ("admins",), "")
    path = f"{LIST}/i1/close"
    assert guard.check(with_session, path, guard.token(with_session, path))
    assert not guard.check(without, path, guard.token(without, path))
    assert not guard.check(with_session, path, None)
    with pytest.raises(ValueError, match="32 bytes"):
        FormGuard(bytes(31))
