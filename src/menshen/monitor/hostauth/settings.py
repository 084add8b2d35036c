"""The host-authentication detectors' knobs, one frozen value (validated on construction).

Scores are surprises in bits (−log2 of an estimated probability), so every knob has a unit
a reviewer can check: ``alert_bits = 10`` means "alert when the evidence is as unlikely as one
in a thousand under the entities' own histories", if the signals were independent (they are
not quite: a new pair and a rare authentication type often come together, so the sum
overstates the surprise). The defaults were chosen while looking at the LANL pieces
(``bench/monitor.py``): in-sample, to be re-checked on a firm's own logons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from menshen.errors import InvalidInput
from menshen.monitor.hostauth.profiles import ProfileLimits

__all__ = ["HostAuthSettings"]


@dataclass(frozen=True, slots=True)
class HostAuthSettings:
    """``alert_bits``: summed surprise that makes a finding; ``rare_below``: a value with an
    estimated probability under this is "rare" for its entity; ``prior_weight``: how many
    observations of the population a new entity's estimate is worth; ``fanout_*``: the
    tumbling window, the absolute floor and the ratio over the source's own peak;
    ``spread_*``: the window and the absolute floor of distinct *new* destinations a source
    may reach before its spread counts (ten new machines in a day: more than a new
    workstation's first day of domain controller, file, print and mail servers);
    ``learn_from_findings``: whether events that raised a finding teach the baselines. On by
    default: the first finding goes to the risk engine and the playbooks, and a pattern left
    unlearned would alert on every repetition for ever (a benign one included). Off, an
    attacker cannot teach the model that the attack is normal (Okta compares a sign-in only
    with the user's earlier *successful* ones) at the price of repeated alerts."""

    alert_bits: float = 10.0
    rare_below: float = 0.1
    prior_weight: float = 4.0
    fanout_window_seconds: float = 3600.0
    fanout_floor: int = 4
    fanout_ratio: float = 2.0
    fanout_max_tracked: int = 4096
    spread_window_seconds: float = 86400.0
    spread_floor: int = 10
    learn_from_findings: bool = True
    limits: ProfileLimits = field(default_factory=ProfileLimits)

    def __post_init__(self) -> None:
        if not 0 < self.alert_bits <= 256:
            raise InvalidInput("alert_bits must be in (0, 256]")
        if not 0 < self.rare_below < 1 or self.prior_weight <= 0:
            raise InvalidInput("rare_below must be in (0, 1) and prior_weight positive")
        if self.fanout_window_seconds <= 0 or self.fanout_floor < 2 or self.fanout_ratio < 1:
            raise InvalidInput("fan-out window > 0, floor >= 2 and ratio >= 1")
        if self.fanout_max_tracked < max(self.fanout_floor, self.spread_floor):
            raise InvalidInput("fanout_max_tracked must be at least the fan-out and spread floors")
        if self.spread_window_seconds <= 0 or self.spread_floor < 2:
            raise InvalidInput("spread window > 0 and spread floor >= 2")
