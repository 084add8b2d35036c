"""Micro-segmentation: zones, an allow-list of flows, default deny, and the questions.

Pure core: ``labels`` and ``model`` (the policy), ``resolve`` (``Segmentation.allows``, the
one decision everything else agrees with), ``reach``, ``blast`` and ``drift`` (the analysis).
Edges: ``codec`` and ``files`` (YAML/CSV), ``repository`` (the store).
"""

from menshen.segmentation.blast import BlastRadius, blast_radius
from menshen.segmentation.drift import CheckReport, check
from menshen.segmentation.labels import LabelGroup, Selector
from menshen.segmentation.model import (
    FlowException,
    Mode,
    Peer,
    Rule,
    RuleSet,
    SegmentationPolicy,
    Zone,
)
from menshen.segmentation.reach import Grant, GrantKind, Reach, reach
from menshen.segmentation.resolve import Action, Match, ResolvedRule, Segmentation, Verdict

__all__ = [
    "Action",
    "BlastRadius",
    "CheckReport",
    "FlowException",
    "Grant",
    "GrantKind",
    "LabelGroup",
    "Match",
    "Mode",
    "Peer",
    "Reach",
    "ResolvedRule",
    "Rule",
    "RuleSet",
    "Segmentation",
    "SegmentationPolicy",
    "Selector",
    "Verdict",
    "Zone",
    "blast_radius",
    "check",
    "reach",
]
