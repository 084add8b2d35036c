"""Alembic migrations for the store; run through ``menshen.store.migrate``."""
