"""The platform store: records, the repository contract, and its SQL implementation.

Core packages import ``menshen.store.api`` and ``menshen.store.records`` only; the SQL
side (``db``, ``schema``, ``sql``, ``migrate``) is wired in by the composition root.
Nothing is imported here, so importing the contract never loads SQLAlchemy.
"""
