"""Compilers: the segmentation model as rules that real enforcement points load.

``nftables`` (a Linux router, firewall or host: ``nft -f``), ``kubernetes``
(NetworkPolicy manifests: ``kubectl apply -f``) and ``aws`` (security groups in the EC2 API
shapes). Each is pure — model and time in, text out — deterministic (the same input gives
the same bytes), annotates every rule with the rule ids it came from, and agrees with
``Segmentation.verdict`` (property tests check it). ``shared`` holds what they have in
common; ``emit`` writes YAML without a YAML library.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from menshen.segmentation.compile.aws import compile_aws, security_groups
from menshen.segmentation.compile.kubernetes import compile_kubernetes, network_policies
from menshen.segmentation.compile.nftables import build_ruleset, compile_nftables
from menshen.segmentation.resolve import Segmentation

FORMATS: dict[str, Callable[[Segmentation, datetime], str]] = {
    "nftables": compile_nftables,
    "kubernetes": compile_kubernetes,
    "aws": compile_aws,
}
"""Format name → compiler with its default options."""

__all__ = [
    "FORMATS",
    "build_ruleset",
    "compile_aws",
    "compile_kubernetes",
    "compile_nftables",
    "network_policies",
    "security_groups",
]
