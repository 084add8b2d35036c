"""Run every evidence collector, each on its own: one that fails never stops the others and
never passes (NIST SP 800-137 §3.4, "analyze data and report findings": a measurement that
could not be taken is reported as such).

A collector that raises — its own bug, or a source it reads (the store is down, a stored
policy no longer compiles) — gives ``NOT_ASSESSED`` with the error for its check only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from menshen.compliance.checks import CHECKS
from menshen.compliance.collectors import COLLECTORS, Collector
from menshen.compliance.model import Bilingual, Evidence, Outcome
from menshen.compliance.sources import CollectContext, EvidenceSources

__all__ = ["MAX_ERROR_CHARS", "collect_all", "collect_one"]

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500


def collect_one(
    check_id: str,
    sources: EvidenceSources,
    context: CollectContext,
    collectors: Mapping[str, Collector] = COLLECTORS,
) -> Evidence:
    """The evidence of one check; never raises (a failure is ``NOT_ASSESSED`` with why)."""
    collector = collectors.get(check_id)
    if collector is None:
        return _failed(check_id, context, "no collector measures this check")
    try:
        evidence = collector(sources, context)
    except Exception as exc:  # any failure: this check is not assessed, the others go on
        log.warning("collector %s failed: %s", check_id, exc, exc_info=True)
        return _failed(check_id, context, f"{type(exc).__name__}: {exc}")
    if evidence.check_id != check_id:
        return _failed(check_id, context, f"the collector answered for {evidence.check_id!r}")
    return evidence


def collect_all(
    sources: EvidenceSources,
    context: CollectContext,
    collectors: Mapping[str, Collector] = COLLECTORS,
) -> dict[str, Evidence]:
    """Evidence for every check of ``CHECKS``, in catalogue order."""
    return {check_id: collect_one(check_id, sources, context, collectors) for check_id in CHECKS}


def _failed(check_id: str, context: CollectContext, error: str) -> Evidence:
    error = error[:MAX_ERROR_CHARS]
    return Evidence(
        check_id=check_id,
        collected_at=context.at,
        outcome=Outcome.NOT_ASSESSED,
        summary=Bilingual(
            f"Not assessed: the measurement failed ({error})",
            f"未評估：量測失敗（{error}）",
        ),
        error=error,
    )
