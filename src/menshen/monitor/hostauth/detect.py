"""Host-authentication detectors combined: one Windows-domain logon in, at most one Finding out.

Eleven signals, each a surprise in bits under the entity's own history (0 when the signal
does not fire): a new user→computer pair and a new computer→computer pair (``novelty``); a
rare authentication package or logon type for the user and for the destination, and a rare
package for the *source* of a remote logon (``rarity``: pass-the-hash is an NTLM network
logon from a machine that otherwise speaks Kerberos); the fan-out of the source computer over
its own peak (``fanout``); the account logging on from a computer it never used as a source
(``novelty`` keyed user → source); a source computer the domain never saw in any role
(``firstseen``, which then replaces the source's new-pair newcomer bits so the same newness is
counted once); and the number of distinct machines the source reached for the first time
today (``spread``). Their sum is the event's
score; at ``alert_bits`` or more the event becomes a Finding whose evidence lists every signal
that fired with its bits and the history behind it. Summing bits treats the signals as
independent (a naive-Bayes score); they are not quite. An alert usually needs two or three
kinds of oddity together; one signal alone reaches the threshold only when it is extreme.

Published results on the LANL data (Kent 2015, doi:10.17021/1179829) — Tuor et al. AUC
0.97–0.98 per event, Bowman et al. 85% detection at 0.9% false positives, Euler precision
0.243 → 0.986 — come from graph and sequence models; this is the per-entity statistics route
(ADBench's finding: good per-entity features matter more than the model). ``bench/monitor.py``
measures it beside an Isolation Forest, a rarity score and the README's shortcut rule.

Each event is scored first, then learned (``observe``), so it is judged only against what came
before; logoffs are neither scored nor learned (the logon before them was both). Pure: the
time is the event's own, nothing reads a clock.
"""

from __future__ import annotations

from menshen.monitor.hostauth.fanout import FanOutDetector
from menshen.monitor.hostauth.firstseen import FirstSeenComputer
from menshen.monitor.hostauth.novelty import NewPairDetector
from menshen.monitor.hostauth.profiles import Population
from menshen.monitor.hostauth.rarity import RareValueDetector
from menshen.monitor.hostauth.settings import HostAuthSettings
from menshen.monitor.hostauth.spread import SourceSpread
from menshen.monitor.model import (
    Category,
    Entity,
    EntityKind,
    EvidenceValue,
    Finding,
    ObservedEvent,
    Severity,
)

__all__ = ["DETECTOR", "SIGNALS", "HostAuthDetectors"]

DETECTOR = "host_authentication"
SIGNALS = (
    "new_user_host",
    "new_host_pair",
    "rare_auth_type_for_user",
    "rare_auth_type_for_host",
    "rare_logon_type_for_user",
    "rare_logon_type_for_host",
    "fan_out",
    "rare_auth_type_for_source",
    "new_user_source",
    "first_seen_source",
    "source_spread",
)
_NOT_SCORED = frozenset({"logoff"})


class HostAuthDetectors:
    """The eleven host-authentication signals with their learned state, for one tenant."""

    __slots__ = (
        "auth_types",
        "fan_out",
        "first_seen_source",
        "logon_types",
        "new_host_pair",
        "new_user_host",
        "new_user_source",
        "rare_auth_host",
        "rare_auth_source",
        "rare_auth_user",
        "rare_logon_host",
        "rare_logon_user",
        "settings",
        "source_spread",
    )

    def __init__(self, settings: HostAuthSettings | None = None) -> None:
        self.settings = s = settings or HostAuthSettings()
        limits = s.limits
        self.auth_types = Population()
        self.logon_types = Population()
        self.new_user_host = NewPairDetector("new_user_host", limits)
        self.new_host_pair = NewPairDetector("new_host_pair", limits)
        rare = (s.rare_below, s.prior_weight)
        self.rare_auth_user = RareValueDetector(
            "rare_auth_type_for_user", limits, self.auth_types, *rare
        )
        self.rare_auth_host = RareValueDetector(
            "rare_auth_type_for_host", limits, self.auth_types, *rare
        )
        self.rare_logon_user = RareValueDetector(
            "rare_logon_type_for_user", limits, self.logon_types, *rare
        )
        self.rare_logon_host = RareValueDetector(
            "rare_logon_type_for_host", limits, self.logon_types, *rare
        )
        self.rare_auth_source = RareValueDetector(
            "rare_auth_type_for_source", limits, self.auth_types, *rare
        )
        self.new_user_source = NewPairDetector("new_user_source", limits, newcomers=False)
        self.first_seen_source = FirstSeenComputer("first_seen_source", limits)
        self.source_spread = SourceSpread(
            "source_spread",
            window_seconds=s.spread_window_seconds,
            floor=s.spread_floor,
            max_tracked=s.fanout_max_tracked,
            max_sources=limits.max_entities,
        )
        self.fan_out = FanOutDetector(
            "fan_out",
            limits,
            window_seconds=s.fanout_window_seconds,
            floor=s.fanout_floor,
            ratio=s.fanout_ratio,
            max_tracked=s.fanout_max_tracked,
        )

    def signals(self, event: ObservedEvent) -> tuple[float, ...]:
        """Each signal's bits for the event (in ``SIGNALS`` order), without learning it."""
        return self._signals(event, event.at.timestamp(), _kind(event.auth_type, event.logon_type))

    def score(self, event: ObservedEvent) -> float:
        """The event's summed surprise (0 for events that are not scored)."""
        if event.category is not Category.AUTHENTICATION or event.action in _NOT_SCORED:
            return 0.0
        return sum(self.signals(event))

    def observe(self, event: ObservedEvent) -> Finding | None:
        """Judge the event against what came before, then learn it (unless it alarmed)."""
        if event.category is not Category.AUTHENTICATION:
            return None
        at = event.at.timestamp()
        kind = _kind(event.auth_type, event.logon_type)
        finding = self._judge(event, at, kind)
        learn = finding is None or self.settings.learn_from_findings
        self._count(event, at, learn=learn)
        if learn:
            self._learn(event, at, kind)
        return finding

    def judge(self, event: ObservedEvent) -> Finding | None:
        """A Finding if the event is alarming, without learning from it."""
        if event.category is not Category.AUTHENTICATION:
            return None
        return self._judge(event, event.at.timestamp(), _kind(event.auth_type, event.logon_type))

    def replay(self, event: ObservedEvent) -> Finding | None:
        """Judge the event and count it in its source's fan-out window, learning nothing (the
        held-out evaluation: a frozen model over a stream)."""
        finding = self.judge(event)
        if event.category is Category.AUTHENTICATION:
            self._count(event, event.at.timestamp(), learn=False)
        return finding

    def learn(self, event: ObservedEvent) -> None:
        """Add the event to every baseline (training; ``observe`` calls it after judging)."""
        self._learn(event, event.at.timestamp(), _kind(event.auth_type, event.logon_type))

    def _judge(self, event: ObservedEvent, at: float, kind: str | None) -> Finding | None:
        if event.action in _NOT_SCORED:
            return None
        bits = self._signals(event, at, kind)
        total = sum(bits)
        return self._finding(event, bits, total) if total >= self.settings.alert_bits else None

    def _signals(self, event: ObservedEvent, at: float, kind: str | None) -> tuple[float, ...]:
        user, src, dst, logon = event.user, event.src_host, event.dst_host, event.logon_type
        remote = src if src != dst else None
        first = self.first_seen_source.bits(remote, at)
        return (
            self.new_user_host.bits(user, dst, at),
            0.0 if first else self.new_host_pair.bits(remote, dst, at),
            self.rare_auth_user.bits(user, kind, at),
            self.rare_auth_host.bits(dst, kind, at),
            self.rare_logon_user.bits(user, logon, at),
            self.rare_logon_host.bits(dst, logon, at),
            self.fan_out.bits(remote, dst, user, at),
            self.rare_auth_source.bits(remote, kind, at),
            0.0 if first else self.new_user_source.bits(user, remote, at),
            first,
            self.source_spread.bits(remote, dst, self._new_edge(remote, dst, at), at),
        )

    def _new_edge(self, remote: str | None, dst: str | None, at: float) -> bool:
        """Whether remote → dst is an edge the source never made (a first-seen source's
        every edge is new)."""
        return remote is not None and dst is not None and self.new_host_pair.is_new(remote, dst, at)

    def _count(self, event: ObservedEvent, at: float, *, learn: bool) -> None:
        """The measurements every judged event adds to its source's current windows, learnt
        or not: fan-out, and spread (before learning, which would make the edge known)."""
        src, dst = event.src_host, event.dst_host
        self.fan_out.count(src, dst, event.user, at, learn=learn)
        if event.action not in _NOT_SCORED:
            remote = src if src != dst else None
            self.source_spread.count(remote, dst, self._new_edge(remote, dst, at), at)

    def _learn(self, event: ObservedEvent, at: float, kind: str | None) -> None:
        if event.action in _NOT_SCORED:
            return  # a logoff repeats its logon: counting it twice would skew every estimate
        user, src, dst, logon = event.user, event.src_host, event.dst_host, event.logon_type
        self.new_user_host.learn(user, dst, at)
        self.first_seen_source.learn(src, dst, at)
        remote = src if src != dst else None
        self.new_host_pair.learn(remote, dst, at)
        self.new_user_source.learn(user, remote, at)
        if kind is not None:
            self.auth_types.observe(kind)
            self.rare_auth_user.learn(user, kind, at)
            self.rare_auth_host.learn(dst, kind, at)
            self.rare_auth_source.learn(remote, kind, at)
        if logon is not None:
            self.logon_types.observe(logon)
            self.rare_logon_user.learn(user, logon, at)
            self.rare_logon_host.learn(dst, logon, at)

    def _finding(self, event: ObservedEvent, bits: tuple[float, ...], total: float) -> Finding:
        at = event.at.timestamp()
        evidence: dict[str, EvidenceValue] = {"score_bits": round(total, 2)}
        fired = []
        for name, value in zip(SIGNALS, bits, strict=True):
            if value > 0:
                fired.append(name.replace("_", " "))
                evidence[f"{name}_bits"] = round(value, 2)
        self._add_history(evidence, event, bits, at)
        for key, text in (
            ("user", event.user),
            ("src_host", event.src_host),
            ("dst_host", event.dst_host),
            ("auth_type", event.auth_type),
            ("logon_type", event.logon_type),
        ):
            if text is not None:
                evidence[key] = text
        over = total - self.settings.alert_bits
        severity = Severity.HIGH if over >= 8 else Severity.MEDIUM
        if over >= 16:
            severity = Severity.CRITICAL
        who = event.user or event.src_host or event.dst_host or "?"
        return Finding(
            tenant_id=event.tenant_id,
            detector=DETECTOR,
            subject=_subject(event),
            at=event.at,
            severity=severity,
            confidence=round(min(0.99, 1.0 - 2.0 ** -(over + 1.0)), 3),
            summary=f"{who} authenticated {event.src_host or '?'} → {event.dst_host or '?'}"
            f" ({', '.join(fired)}; {total:.1f} bits)",
            evidence=evidence,
            event_ids=(event.event_id,),
            source_ip=event.src_ip,
            session_id=event.session_id,
        )

    def _add_history(
        self,
        evidence: dict[str, EvidenceValue],
        event: ObservedEvent,
        bits: tuple[float, ...],
        at: float,
    ) -> None:
        user, src, dst = event.user, event.src_host, event.dst_host
        parts: list[tuple[float, str, dict[str, EvidenceValue]]] = []
        if bits[0] and user is not None:
            parts.append((bits[0], "user", self.new_user_host.evidence(user, at)))
        if bits[1] and src is not None:
            parts.append((bits[1], "source", self.new_host_pair.evidence(src, at)))
        kind = _kind(event.auth_type, event.logon_type)
        if bits[3] and dst is not None and kind is not None:
            parts.append((bits[3], "dst_auth", self.rare_auth_host.evidence(dst, kind, at)))
        if bits[6] and src is not None:
            parts.append((bits[6], "fan_out", self.fan_out.evidence(src, at)))
        if bits[7] and src is not None and kind is not None:
            parts.append((bits[7], "src_auth", self.rare_auth_source.evidence(src, kind, at)))
        if bits[8] and user is not None:
            parts.append((bits[8], "user_source", self.new_user_source.evidence(user, at)))
        if bits[9]:
            parts.append((bits[9], "domain", self.first_seen_source.evidence()))
        if bits[10] and src is not None:
            parts.append((bits[10], "spread", self.source_spread.evidence(src, at)))
        for _, prefix, found in parts:
            for key, value in found.items():
                evidence[f"{prefix}_{key}"] = value


def _kind(auth_type: str | None, logon_type: str | None) -> str | None:
    """The authentication package together with the logon type ("NTLM/Network"): NTLM is
    ordinary for local and cached logons and telling for network ones."""
    if auth_type is None:
        return None
    return f"{auth_type}/{logon_type or '?'}"


def _subject(event: ObservedEvent) -> Entity:
    if event.user is not None:
        return Entity(EntityKind.USER, event.user)
    return Entity(EntityKind.HOST, event.src_host or event.dst_host or "?")
