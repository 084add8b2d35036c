"""Incidents: related findings grouped, with a timeline and response times (NIST SP 800-61r2)."""
