"""Compliance: control catalogs, evidence measured from the live system, assessments on each
framework's own scale, gaps with next steps, and signed reports (issue 7).

Never a single "FSC compliance %": the FSC's zero-trust guidelines are non-binding and define
stages, not a score (see docs/compliance.md).
"""
