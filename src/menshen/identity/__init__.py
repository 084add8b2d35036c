"""Identity: users, groups and local credentials (passwords, TOTP, recovery codes)."""
