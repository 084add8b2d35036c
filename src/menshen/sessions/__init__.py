"""Sessions: the policy administrator (NIST SP 800-207 §3.1) — issue, rotate, revoke."""
