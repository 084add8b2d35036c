"""Auditor-ready compliance reports: one ``ReportDocument`` rendered as HTML, PDF, canonical
JSON and OSCAL assessment-results (NIST OSCAL 1.1), its content hash signed with the tenant's
ES256 key (RFC 7515), and each report recorded for the next one's trend.

Never a regulator's score: the counts and stages a report shows are menshen's own tally.
"""
