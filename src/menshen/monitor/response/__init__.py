"""Automatic response: playbooks, their actions, and notifications (NIST SP 800-61r2 §3.3)."""
