"""Profiles as versioned JSON (``{"v": 1, ...}``), the form the store keeps.

A document of another version is refused with ``InvalidInput`` rather than guessed at; the
caller drops it and the entity learns afresh (a rebuild restores it from the audit log).
Top-K lists longer than the configured bound are cut to their heaviest keys on load, so a
smaller bound takes effect at the next start.
"""

from __future__ import annotations

from typing import Any

from menshen.errors import InvalidInput
from menshen.monitor.baselines.book import BaselineBook
from menshen.monitor.baselines.config import BaselineConfig
from menshen.monitor.baselines.decay import Ewma, TopK
from menshen.monitor.baselines.profile import LastPlace, Profile

__all__ = ["VERSION", "dump_firm", "dump_profile", "load_firm", "load_profile"]

VERSION = 1
_TOPS = ("networks", "asns", "countries", "devices", "agents", "apps", "paths")
_EWMAS = ("hourly_bytes", "hourly_requests", "month_end_bytes", "session_bytes")


def dump_profile(profile: Profile) -> dict[str, Any]:
    place = profile.last_place
    return {
        "v": VERSION,
        "landmark": profile.decay.landmark,
        "first_seen": profile.first_seen,
        "last_seen": profile.last_seen,
        "learning_since": profile.learning_since,
        "events": profile.events,
        "signins": profile.signins,
        "hours": {"total": profile.hours.total, "bins": profile.hours.bins},
        **{name: getattr(profile, name).dump() for name in _TOPS},
        **{name: getattr(profile, name).dump() for name in _EWMAS},
        "hour": [profile.hour_bucket, profile.hour_count, profile.hour_bytes],
        "hour_month_end": profile.hour_month_end,
        "sessions": profile.sessions,
        "last_place_epoch": profile.last_place_epoch,
        "last_place": None
        if place is None
        else [
            place.epoch,
            place.latitude,
            place.longitude,
            place.accuracy_km,
            place.country,
            place.asn,
            place.ip,
        ],
    }


def load_profile(data: dict[str, Any], config: BaselineConfig) -> Profile:
    """The profile ``data`` describes; InvalidInput for another version or a broken one."""
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise InvalidInput(f"baseline document version {data.get('v')!r} is not {VERSION}")
    try:
        profile = Profile(config, float(data["landmark"]))
        profile.first_seen = float(data["first_seen"])
        profile.last_seen = float(data["last_seen"])
        profile.learning_since = float(data["learning_since"])
        profile.events = int(data["events"])
        profile.signins = int(data["signins"])
        bins = [float(v) for v in data["hours"]["bins"]]
        if len(bins) != 168:
            raise InvalidInput("a baseline's hour histogram has 168 bins")
        profile.hours.bins = bins
        profile.hours.total = float(data["hours"]["total"])
        for name in _TOPS:
            current: TopK = getattr(profile, name)
            setattr(profile, name, TopK.load(current.k, data[name]))
        for name in _EWMAS:
            ewma: Ewma = getattr(profile, name)
            setattr(profile, name, Ewma.load(ewma.alpha, data[name]))
        bucket, count, sent = data["hour"]
        profile.hour_bucket, profile.hour_count, profile.hour_bytes = (
            int(bucket),
            int(count),
            int(sent),
        )
        profile.hour_month_end = bool(data["hour_month_end"])
        sessions = data["sessions"]
        profile.sessions = {
            str(k): [float(v[0]), float(v[1]), float(v[2])]
            for k, v in list(sessions.items())[-config.open_sessions :]
        }
        profile.last_place_epoch = float(data["last_place_epoch"])
        place = data["last_place"]
        if place is not None:
            profile.last_place = LastPlace(
                float(place[0]),
                float(place[1]),
                float(place[2]),
                float(place[3]),
                None if place[4] is None else str(place[4]),
                None if place[5] is None else int(place[5]),
                str(place[6]),
            )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(f"broken baseline document: {exc!r}") from None
    return profile


def dump_firm(book: BaselineBook) -> dict[str, Any]:
    """The tenant-wide parts: peer-group resources and the firm's places."""
    peers, cells = book.firm_state()
    return {
        "v": VERSION,
        "peers": {group: top.dump() for group, top in peers.items()},
        "cells": cells,
    }


def load_firm(book: BaselineBook, data: dict[str, Any]) -> None:
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise InvalidInput(f"firm baseline document version {data.get('v')!r} is not {VERSION}")
    try:
        k = book.config.top_paths * 2
        peers = {str(g): TopK.load(k, top) for g, top in data["peers"].items()}
        cells = {
            str(c): {str(u): float(t) for u, t in users.items()}
            for c, users in data["cells"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"broken firm baseline document: {exc!r}") from None
    book.restore_firm(peers, cells)
