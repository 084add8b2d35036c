"""``metrics:``: the operations listener (Prometheus text exposition at ``/metrics``, a
health check at ``/healthz``; docs/operations.md). Parsed with the rest of ``menshen.yaml``
by ``menshen.settings``; a bad value aborts start-up there.

The listener is separate from the public gateway listeners and off unless configured. A
loopback address is the expected setting; any other address is accepted (a scraper on
another host) but the server logs a warning at start, since the figures tell an outsider
how busy the firm is and which detectors fire.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["MetricsModel", "MetricsSettings", "metrics_settings", "parse_listen"]

_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*")  # fmt: skip


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """Where the operations listener binds; port 0 picks a free port (tests)."""

    host: str = "127.0.0.1"
    port: int = 9810

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the listener."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to anything

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) -> (host, port); ``ValueError`` if malformed."""
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError("give [IPv6]:port")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"not an IPv6 address: {host!r}") from None
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError("give host:port, e.g. 127.0.0.1:9810")
        if ":" in host:
            raise ValueError("write an IPv6 address in brackets: [::1]:9810")
        if not _HOSTNAME.fullmatch(host):
            raise ValueError(f"not a host name or address: {host!r}")
        if host.replace(".", "").isdigit():
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise ValueError(f"not an IPv4 address: {host!r}") from None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"not a port number (0-65535): {port!r}")
    return host, int(port)


class MetricsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listen: str

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


def metrics_settings(item: MetricsModel | None) -> MetricsSettings | None:
    """The listener's address, or None when ``metrics:`` is absent (no listener)."""
    if item is None:
        return None
    host, port = parse_listen(item.listen)
    return MetricsSettings(host, port)
