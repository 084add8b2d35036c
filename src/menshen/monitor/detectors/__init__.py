"""Detectors (issue 6 item 3): each a small pure component from an event and a read-only
baseline view to findings, with its rationale and thresholds in its docstring; and the
``DetectorSet`` that runs the enabled ones and then lets the baselines learn."""

from menshen.monitor.detectors.bad_ip import BadIpList, KnownBadIp, parse_cidrs
from menshen.monitor.detectors.base import Detector
from menshen.monitor.detectors.detector_set import (
    DetectorOptions,
    DetectorSet,
    default_detectors,
    new_detector_set,
)

__all__ = [
    "BadIpList",
    "Detector",
    "DetectorOptions",
    "DetectorSet",
    "KnownBadIp",
    "default_detectors",
    "new_detector_set",
    "parse_cidrs",
]
