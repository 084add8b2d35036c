"""Opening a tenant's detector set from the store (the edge the engine calls once per tenant).

``open_detector_set`` loads the saved baselines, the imported bad-address lists and the
peer groups (users sharing the same groups), and builds the default detectors with the
tenant's options; the engine wraps it per tenant (``menshen.monitor.engine.per_tenant``)
and saves changed baselines in batches with ``menshen.monitor.baselines.persist.save_book``.
"""

from __future__ import annotations

from dataclasses import replace

from menshen.monitor.baselines import BaselineConfig, GeoLookup
from menshen.monitor.baselines.persist import load_book, peer_groups
from menshen.monitor.detectors.bad_ip import BadIpList
from menshen.monitor.detectors.detector_set import DetectorOptions, DetectorSet, default_detectors
from menshen.store.api import TenantStore

__all__ = ["open_detector_set"]


def open_detector_set(
    tenant: TenantStore,
    *,
    time_zone: str,
    options: DetectorOptions | None = None,
    geo: GeoLookup | None = None,
) -> DetectorSet:
    """The tenant's detectors over its saved baselines (ConfigError for an unknown zone)."""
    book, _ = load_book(tenant.baselines, BaselineConfig.for_zone(time_zone))
    chosen = options or DetectorOptions()
    listed = [(r.cidr, r.list_name) for r in tenant.bad_networks.list()]
    if listed:
        chosen = replace(chosen, bad_networks=BadIpList(listed))
    return DetectorSet(default_detectors(chosen), book, geo=geo, peer_group=peer_groups(tenant))
