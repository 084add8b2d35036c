"""The decision side of the enforcement point: who may pass, and the sign-in pages.

``menshen.gateway`` moves bytes; this package answers the gateway's one question per
request (``Guard.check``) from in-memory state, and serves ``/.menshen/`` pages.
"""
