"""Detection quality on the LANL pieces: menshen's host-authentication detectors beside an
Isolation Forest, a per-entity rarity score and the README's shortcut rule.

Protocol (the same for every method, one process, the same events): learn on the benign
events of days 0–1 (``day = time // 86400``); then score, against that frozen model, (1) the
held-out benign events of day 2 and (2) every red-team event in time order. menshen's fan-out
windows count within each held-out stream; nothing held out teaches any model (the red-team
events alone would otherwise become the whole "population" for 29 days). A user or event is
"flagged" when at least one of its events scores at or above the method's threshold.
Logoffs are not scored by any method. Data: Kent 2015, doi:10.17021/1179829.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import log2
from pathlib import Path
from typing import Any

from menshen.monitor.hostauth.detect import HostAuthDetectors
from menshen.monitor.hostauth.lanl import LanlReader, day_of
from menshen.monitor.hostauth.settings import HostAuthSettings
from menshen.monitor.model import ObservedEvent

README_ROWS = {"benign_auth_sample.txt": 15_000, "redteam_auth_events.txt": 1_892, "labels": 749}
LIMITS = (
    "the benign sample is the first ~5,000 events (a few minutes) of each of days 0, 1 and 2, "
    "human users only; the red-team events span days 1-29 and come from 4 source computers, "
    "nearly all NTLM network logons: a method can look good here by keying on those shortcuts",
    "red-team events are about 1 in 1.4 million events in the full data; here they are "
    "1,892 beside 5,000 benign ones, so precision and average precision here say nothing "
    "about precision in production",
    "a time split with one held-out benign day of minutes: window counts (fan-out) on benign "
    "traffic are far below a real day's, so fan-out false alarms are understated",
    "the red-team stream is scored without the benign traffic around it (not in the pieces)",
    "thresholds were chosen by people who had seen these data: this is in-sample evidence; "
    "the every-user operating points are chosen by looking at the red-team scores themselves "
    "(in-sample by construction), and menshen's defaults (alert_bits 10, spread floor 10, "
    "rare_below 0.1) were checked on these same files",
    "menshen's first-seen source and NTLM-for-the-source signals resemble the shortcut rule "
    "(new source computer + NTLM network logon) and benefit from the same shortcut: here every "
    "red-team source is a computer never seen in the benign sample, which a real intruder "
    "working from a compromised workstation would not be",
    "one red-team user's only event (the campaign's first) looks, in every feature these "
    "detectors and the baselines use, like two dozen benign day-2 events: an unseen account "
    "on a never-seen computer making an NTLM network logon to a server that already receives "
    "NTLM; flagging that user costs those alarms, so 28 day-2 alerts is the floor for menshen "
    "flagging all 104 users here, one under the shortcut's 29: the margin is one event",
)


@dataclass(frozen=True, slots=True)
class Data:
    train: list[ObservedEvent]
    day2: list[ObservedEvent]
    red: list[ObservedEvent]
    labels: int
    malformed: int


def load(directory: Path) -> Data:
    """The three files, read with menshen's LANL reader; counts checked by the caller."""
    reader = LanlReader("lanl")
    with (directory / "benign_auth_sample.txt").open(encoding="utf-8") as lines:
        benign = list(reader.read(lines))
    with (directory / "redteam_auth_events.txt").open(encoding="utf-8") as lines:
        red = sorted(reader.read(lines), key=lambda event: event.at)
    with gzip.open(directory / "redteam.txt.gz", "rt", encoding="utf-8") as lines:
        labels = sum(1 for line in lines if line.strip())
    return Data(
        train=[event for event in benign if day_of(event) < 2],
        day2=[event for event in benign if day_of(event) == 2],
        red=red,
        labels=labels,
        malformed=reader.malformed_count,
    )


def scored(event: ObservedEvent) -> bool:
    return event.action != "logoff"


def menshen_scores(data: Data, settings: HostAuthSettings) -> tuple[list[float], list[float]]:
    """Summed bits per held-out event (0 for logoffs), each stream from a fresh trained model."""
    out = []
    for stream in (data.day2, data.red):
        detectors = HostAuthDetectors(settings)
        for event in data.train:
            detectors.learn(event)
        scores = []
        for event in stream:
            scores.append(detectors.score(event))
            detectors.replay(event)
        out.append(scores)
    return out[0], out[1]


def _kind(event: ObservedEvent) -> str:
    return f"{event.auth_type}/{event.logon_type}"


def rarity_scores(data: Data) -> tuple[list[float], list[float], list[float]]:
    """Per-entity rarity: −log2 P(destination | user) − log2 P(destination | source)
    − log2 P(auth/logon kind | destination), each add-one smoothed, frozen after training."""
    pairs: Counter[tuple[str, str]] = Counter()
    entities: Counter[str] = Counter()
    for event in filter(scored, data.train):
        for key in _rarity_keys(event):
            pairs[key] += 1
            entities[key[0]] += 1

    def score(event: ObservedEvent) -> float:
        if not scored(event):
            return 0.0
        return sum(-log2((pairs[key] + 1) / (entities[key[0]] + 2)) for key in _rarity_keys(event))

    return (
        [score(e) for e in data.train],
        [score(e) for e in data.day2],
        [score(e) for e in data.red],
    )


def _rarity_keys(event: ObservedEvent) -> list[tuple[str, str]]:
    dst = event.dst_host or "?"
    return [
        ("u:" + (event.user or "?"), dst),
        ("s:" + (event.src_host or "?"), dst),
        ("d:" + dst, _kind(event)),
    ]


def isolation_forest_scores(data: Data, seed: int) -> tuple[list[float], list[float], list[float]]:
    """scikit-learn's IsolationForest on frequency-encoded fields (counts in training of the
    user, source, destination, kind, logon type, orientation and of the two pairs)."""
    from sklearn.ensemble import IsolationForest

    counts: dict[str, Counter[str]] = {}
    keys = _forest_keys
    train = [e for e in data.train if scored(e)]
    for event in train:
        for name, value in keys(event):
            counts.setdefault(name, Counter())[value] += 1

    def features(events: Sequence[ObservedEvent]) -> list[list[float]]:
        return [[log2(1 + counts[n][v]) for n, v in keys(e)] for e in events]

    forest = IsolationForest(n_estimators=200, random_state=seed)
    forest.fit(features(train))

    def score(events: Sequence[ObservedEvent]) -> list[float]:
        raw = -forest.score_samples(features(events)) if events else []
        return [float(x) if scored(e) else 0.0 for x, e in zip(raw, events, strict=True)]

    return score(data.train), score(data.day2), score(data.red)


def _forest_keys(event: ObservedEvent) -> list[tuple[str, str]]:
    user, src, dst = event.user or "?", event.src_host or "?", event.dst_host or "?"
    return [
        ("user", user),
        ("src", src),
        ("dst", dst),
        ("kind", _kind(event)),
        ("logon", event.logon_type or "?"),
        ("action", event.action),
        ("user_dst", f"{user}>{dst}"),
        ("src_dst", f"{src}>{dst}"),
    ]


def shortcut_flags(data: Data) -> tuple[list[bool], list[bool]]:
    """The README's shortcut: a source computer not seen in training + an NTLM network logon."""
    known = {event.src_host for event in data.train}

    def flag(event: ObservedEvent) -> bool:
        return (
            event.action == "logon"
            and event.src_host not in known
            and event.auth_type == "NTLM"
            and event.logon_type == "Network"
        )

    return [flag(e) for e in data.day2], [flag(e) for e in data.red]


def outcome(
    name: str, data: Data, day2: Sequence[bool], red: Sequence[bool], threshold: str
) -> dict[str, Any]:
    """The figures for one method at one operating point."""
    users = {event.user for event in data.red}
    flagged_users = {event.user for event, hit in zip(data.red, red, strict=True) if hit}
    alerts = sum(day2)
    return {
        "method": name,
        "threshold": threshold,
        "day2_alerts": alerts,
        "day2_events": len(data.day2),
        "day2_alert_rate": alerts / len(data.day2),
        "redteam_events_flagged": sum(red),
        "redteam_events": len(data.red),
        "redteam_event_share": sum(red) / len(data.red),
        "redteam_users_flagged": len(flagged_users),
        "redteam_users": len(users),
        "redteam_user_share": len(flagged_users) / len(users),
    }


def every_user_threshold(data: Data, red_scores: Sequence[float]) -> float:
    """The highest threshold at which every red-team user still has a flagged event."""
    best: dict[str | None, float] = {}
    for event, value in zip(data.red, red_scores, strict=True):
        best[event.user] = max(best.get(event.user, 0.0), value)
    return min(best.values())


def at_threshold(
    name: str,
    data: Data,
    day2: Sequence[float],
    red: Sequence[float],
    threshold: float,
    label: str,
) -> dict[str, Any]:
    over: Callable[[float], bool] = lambda value: value >= threshold and value > 0  # noqa: E731
    return outcome(name, data, [over(v) for v in day2], [over(v) for v in red], label)


def budget_threshold(day2: Sequence[float], red: Sequence[float], budget: int) -> float:
    """The lowest threshold (among the scores seen) with at most ``budget`` day-2 alerts."""
    ordered = sorted((v for v in day2 if v > 0), reverse=True)
    best = float("inf")
    for candidate in sorted({v for v in (*day2, *red) if v > 0}, reverse=True):
        if bisect_count(ordered, candidate) > budget:
            break
        best = candidate
    return best


def bisect_count(descending: Sequence[float], threshold: float) -> int:
    """How many values of a descending list are >= ``threshold``."""
    low, high = 0, len(descending)
    while low < high:
        middle = (low + high) // 2
        if descending[middle] >= threshold:
            low = middle + 1
        else:
            high = middle
    return low


def average_precision(day2: Sequence[float], red: Sequence[float]) -> float:
    """Average precision of red-team events among day-2 + red-team events (see LIMITS)."""
    from sklearn.metrics import average_precision_score

    labels = [0] * len(day2) + [1] * len(red)
    return float(average_precision_score(labels, [*day2, *red]))


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def target_verdicts(results: Sequence[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """Issue 6's target (every red-team user, fewer day-2 alerts than the shortcut rule and
    than the forest and the rarity score at their every-user points), checked at menshen's
    default and at its every-user operating point: (operating point, met, figures)."""

    def row(method: str, prefix: str) -> dict[str, Any]:
        return next(
            r for r in results if r["method"] == method and r["threshold"].startswith(prefix)
        )

    baselines = [
        row("shortcut_rule", "rule"),
        row("isolation_forest", "flags every"),
        row("rarity", "flags every"),
    ]
    out = []
    for label, mine in (
        ("menshen default", row("menshen", "default")),
        ("menshen every-user point (in-sample)", row("menshen", "flags every")),
    ):
        met = mine["redteam_user_share"] == 1.0 and all(
            mine["day2_alerts"] < other["day2_alerts"] for other in baselines
        )
        figures = (
            f"{mine['redteam_users_flagged']}/{mine['redteam_users']} users, "
            f"{mine['day2_alerts']} day-2 alerts vs "
            + ", ".join(f"{o['method']} {o['day2_alerts']}" for o in baselines)
        )
        out.append((label, met, figures))
    return out
