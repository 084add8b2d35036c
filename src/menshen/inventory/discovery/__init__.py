"""Discovery from traffic: observed flows from logs, placed on the inventory.

Pure parsers (``conntrack``, ``vpcflow``, ``flowcsv``, ``audit``) stream lines into a
bounded ``records.Tally``; ``match`` proposes unclassified assets for unknown addresses and
matches observed flows with declared ones; ``sources`` is the file edge. See
docs/segmentation.md, "Discovery from traffic".
"""

from menshen.inventory.discovery.match import Discovery, NewAsset, SeenFlow, discover
from menshen.inventory.discovery.records import Observation, ParseReport, Rejected, merged

__all__ = [
    "Discovery",
    "NewAsset",
    "Observation",
    "ParseReport",
    "Rejected",
    "SeenFlow",
    "discover",
    "merged",
]
