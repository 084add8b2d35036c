"""Events, places and a trained detector set for the detector and baseline tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from menshen.monitor.baselines import BaselineBook, BaselineConfig, Place
from menshen.monitor.detectors import DetectorSet
from menshen.monitor.detectors.base import Detector
from menshen.monitor.model import Category, EventOutcome, Finding, ObservedEvent
from tests.monitor.detectors.mmdb import write_mmdb

TENANT = "t1"
# Monday 2 March 2026, 09:00 in Taipei (UTC+8).
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"
MIB = 1024 * 1024

HINET, VPN_AS, DTAG, NG_AS = 3462, 9009, 3320, 29465
# name -> (CIDR, latitude, longitude, country, ASN)
PLACES: dict[str, tuple[str, float, float, str, int]] = {
    "taipei_home": ("1.160.10.0/24", 25.03, 121.56, "TW", HINET),
    "taipei_office": ("60.250.1.0/24", 25.04, 121.53, "TW", HINET),
    "taipei_other": ("1.160.99.0/24", 25.05, 121.52, "TW", HINET),
    "kaohsiung": ("1.170.5.0/24", 22.63, 120.30, "TW", HINET),
    "vpn_taichung": ("45.10.20.0/24", 24.15, 120.67, "TW", VPN_AS),
    "vpn_tokyo": ("45.10.30.0/24", 35.68, 139.69, "JP", VPN_AS),
    "frankfurt": ("85.10.20.0/24", 50.11, 8.68, "DE", DTAG),
    "lagos": ("102.89.1.0/24", 6.45, 3.39, "NG", NG_AS),
}


def ip(place: str, host: int = 10) -> str:
    """An address inside ``place``'s network."""
    return PLACES[place][0].rsplit(".", 1)[0] + f".{host}"


class TableGeo:
    """``GeoLookup`` from ``PLACES`` (no file needed)."""

    def locate(self, address: str) -> Place | None:
        for cidr, lat, lon, country, asn in PLACES.values():
            if address.rsplit(".", 1)[0] == cidr.rsplit(".", 1)[0]:
                return Place(lat, lon, 10.0, country, asn)
        return None


def write_test_mmdb(path: Path) -> Path:
    """A City+ASN-shaped MaxMind database of ``PLACES``."""
    records: dict[str, dict[str, Any]] = {
        cidr: {
            "location": {"latitude": lat, "longitude": lon, "accuracy_radius": 10},
            "country": {"iso_code": country},
            "autonomous_system_number": asn,
            "autonomous_system_organization": f"AS{asn}",
        }
        for cidr, lat, lon, country, asn in PLACES.values()
    }
    return write_mmdb(path, records)


_ids = itertools.count()


def event(at: datetime, **fields: Any) -> ObservedEvent:
    """An observed event with test defaults: alice's allowed request from home, in Chrome."""
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "at": at,
        "source": "gateway",
        "event_id": f"e{next(_ids)}",
        "category": Category.ACCESS,
        "action": "allow",
        "outcome": EventOutcome.SUCCESS,
        "user": "alice",
        "src_ip": ip("taipei_home"),
        "user_agent": CHROME,
        "app": "wiki",
        "resource": "/pages/home",
        "session_id": "s-alice",
        "device_id": "laptop-1",
    }
    values.update(fields)
    return ObservedEvent(**values)


def login(at: datetime, **fields: Any) -> ObservedEvent:
    fields.setdefault("category", Category.AUTHENTICATION)
    fields.setdefault("action", "login")
    return event(at, **fields)


def workdays(start: datetime, days: int) -> list[datetime]:
    """Monday-Friday starts (09:00 Taipei) of ``days`` calendar days from ``start``."""
    return [
        start + timedelta(days=d) for d in range(days) if (start + timedelta(days=d)).weekday() < 5
    ]


def detector_set(
    *detectors: Detector, config: BaselineConfig | None = None, **kw: Any
) -> DetectorSet:
    kw.setdefault("geo", TableGeo())
    return DetectorSet(list(detectors), BaselineBook(config or BaselineConfig()), **kw)


def train(
    detectors: DetectorSet,
    *,
    days: int = 21,
    start: datetime = T0,
    user: str = "alice",
    **fields: Any,
) -> datetime:
    """Three weeks of office hours: a login each workday, requests 09:00-17:00. The end."""
    for day in workdays(start, days):
        detectors.process(login(day, user=user, **fields))
        for hour in range(9):
            detectors.process(event(day + timedelta(hours=hour, minutes=5), user=user, **fields))
    return start + timedelta(days=days)


def run(detectors: DetectorSet, *events: ObservedEvent) -> list[Finding]:
    found: list[Finding] = []
    for item in events:
        found.extend(detectors.process(item))
    return found


def names(findings: list[Finding]) -> list[str]:
    return [f.detector for f in findings]
