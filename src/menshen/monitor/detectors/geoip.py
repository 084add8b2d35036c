"""Geo-IP from MaxMind-format databases the firm supplies (GeoIP2/GeoLite2 City and ASN).

The MaxMind DB format (maxmind.github.io/MaxMind-DB) is read with the ``maxminddb`` package,
in memory, so a lookup is a tree walk with no I/O; results are cached per address. Fields
used: ``location.latitude/longitude/accuracy_radius``, ``country.iso_code`` (City) and
``autonomous_system_number/organization`` (ASN) — one database may carry both. Opening a
file is the only I/O, done once at start-up (an edge, outside the pure detector contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import maxminddb

from menshen.errors import ConfigError
from menshen.monitor.baselines import Place

__all__ = ["MaxMindGeo"]

_CACHE = 65_536


class MaxMindGeo:
    """``GeoLookup`` over a City database and an optional ASN database."""

    __slots__ = ("_asn", "_cache", "_city")

    def __init__(self, city: Path, asn: Path | None = None) -> None:
        self._city = _open(city)
        self._asn = None if asn is None else _open(asn)
        self._cache: dict[str, Place | None] = {}

    def locate(self, ip: str) -> Place | None:
        try:
            return self._cache[ip]
        except KeyError:
            pass
        place = self._lookup(ip)
        if len(self._cache) >= _CACHE:
            self._cache.clear()
        self._cache[ip] = place
        return place

    def _lookup(self, ip: str) -> Place | None:
        try:
            city = self._city.get(ip)
            asn_record = city if self._asn is None else self._asn.get(ip)
        except ValueError:  # not an address
            return None
        if not isinstance(city, dict) and not isinstance(asn_record, dict):
            return None
        city_map: dict[str, Any] = city if isinstance(city, dict) else {}
        asn_map: dict[str, Any] = asn_record if isinstance(asn_record, dict) else {}
        location = city_map.get("location") or {}
        country = city_map.get("country") or city_map.get("registered_country") or {}
        latitude, longitude = location.get("latitude"), location.get("longitude")
        asn = asn_map.get("autonomous_system_number")
        return Place(
            latitude=float(latitude) if isinstance(latitude, int | float) else None,
            longitude=float(longitude) if isinstance(longitude, int | float) else None,
            accuracy_km=float(location.get("accuracy_radius") or 0.0),
            country=country.get("iso_code") if isinstance(country.get("iso_code"), str) else None,
            asn=asn if isinstance(asn, int) else None,
            asn_org=asn_map.get("autonomous_system_organization"),
        )

    def close(self) -> None:
        self._city.close()
        if self._asn is not None:
            self._asn.close()


def _open(path: Path) -> maxminddb.Reader:
    try:
        return maxminddb.open_database(str(path), maxminddb.MODE_MEMORY)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable MaxMind database ({exc})") from None
