"""menshen (門神): a zero-trust access platform for small and medium financial firms."""

__version__ = "0.1.0"
