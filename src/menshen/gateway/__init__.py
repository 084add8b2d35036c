"""The policy enforcement point (NIST SP 800-207 §3): reverse proxy and login pages."""
