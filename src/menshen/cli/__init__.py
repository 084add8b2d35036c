"""The ``menshen`` command."""
