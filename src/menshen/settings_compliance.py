"""``tenants.<id>.compliance``: what applies to the firm and the limits its evidence is
measured against (docs/compliance.md). Parsed with the rest of ``menshen.yaml`` by
``menshen.settings``; a bad value aborts start-up there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ComplianceModel", "ComplianceOptions", "compliance_options"]


@dataclass(frozen=True, slots=True)
class ComplianceOptions:
    """The firm's profile (``card_data``: PCI DSS applies; ``e_payment``: the e-payment
    information-system standards apply; ``critical_infrastructure``: the Cyber Security
    Management Act binds it), the groups that mean administrators, contractors/vendors and
    users of other institutions, the limits evidence is judged by, the ROI inputs, and
    ``catalog_dirs``: directories of the firm's own catalog and mapping files, loaded with
    the packaged catalogs (``load_catalog(extra=...)``)."""

    scope: str = ""
    card_data: bool = False
    e_payment: bool = False
    critical_infrastructure: bool = False
    admin_groups: tuple[str, ...] = ("admins",)
    contractor_groups: tuple[str, ...] = ("contractors",)
    external_groups: tuple[str, ...] = ()
    stale_after: timedelta = timedelta(days=90)
    rotation_limit: timedelta = timedelta(days=90)
    detect_target: timedelta = timedelta(minutes=10)
    respond_target: timedelta = timedelta(minutes=10)
    records_held: int = 0
    staff: int = 0
    annual_revenue: int = 0
    currency: str = "TWD"
    catalog_dirs: tuple[Path, ...] = ()


class ComplianceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str = Field(default="", max_length=2000)
    card_data: bool = False
    e_payment: bool = False
    critical_infrastructure: bool = False
    admin_groups: list[str] = Field(default_factory=lambda: ["admins"])
    contractor_groups: list[str] = Field(default_factory=lambda: ["contractors"])
    external_groups: list[str] = Field(default_factory=list)
    stale_after_days: int = Field(default=90, ge=1, le=3650)
    rotation_limit_days: int = Field(default=90, ge=1, le=3650)
    detect_target_minutes: int = Field(default=10, ge=1, le=60 * 24 * 30)
    respond_target_minutes: int = Field(default=10, ge=1, le=60 * 24 * 30)
    records_held: int = Field(default=0, ge=0)
    staff: int = Field(default=0, ge=0)
    annual_revenue: int = Field(default=0, ge=0)
    currency: str = Field(default="TWD", pattern=r"^[A-Z]{3}$")
    catalog_dirs: list[Path] = Field(default_factory=list, max_length=16)


def compliance_options(
    item: ComplianceModel, resolve: Callable[[Path], Path] = lambda p: p
) -> ComplianceOptions:
    """The options of one tenant; ``resolve`` makes relative ``catalog_dirs`` relative to
    the settings file, like every other path in it."""
    return ComplianceOptions(
        scope=item.scope,
        card_data=item.card_data,
        e_payment=item.e_payment,
        critical_infrastructure=item.critical_infrastructure,
        admin_groups=tuple(item.admin_groups),
        contractor_groups=tuple(item.contractor_groups),
        external_groups=tuple(item.external_groups),
        stale_after=timedelta(days=item.stale_after_days),
        rotation_limit=timedelta(days=item.rotation_limit_days),
        detect_target=timedelta(minutes=item.detect_target_minutes),
        respond_target=timedelta(minutes=item.respond_target_minutes),
        records_held=item.records_held,
        staff=item.staff,
        annual_revenue=item.annual_revenue,
        currency=item.currency,
        catalog_dirs=tuple(resolve(path) for path in item.catalog_dirs),
    )
