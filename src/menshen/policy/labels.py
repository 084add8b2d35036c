"""Data sensitivity of a request's resource: the label of the longest path prefix that covers it.

Labels come from three places, most specific first: a ``resources`` entry of a Policy
(paths of the app), the App's own label, and — when the inventory knows the app — the
label the inventory passes in at compile time (the hook ``compile_policies(app_labels=…)``).
Unlabelled resources count as ``internal`` (ISO/IEC 27001 A.5.12 default classification).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from menshen.errors import InvalidInput
from menshen.policy.conditions import SENSITIVITY
from menshen.policy.model import AppPolicy, DataLabel

DEFAULT_LABEL = DataLabel()
LABEL_MEMO = 4096


@dataclass(frozen=True, slots=True)
class LabelIndex:
    """Path prefixes (longest first) with their labels, and the app's own label."""

    app_label: DataLabel
    prefixes: tuple[tuple[str, DataLabel], ...]
    memo: dict[str, DataLabel] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls, app: str, app_label: DataLabel | None, policies: Iterable[AppPolicy]
    ) -> LabelIndex:
        found: dict[str, DataLabel] = {}
        for policy in policies:
            for resource in policy.resources:
                _check(resource.label)
                for prefix in resource.path_prefixes:
                    if not prefix.startswith("/"):
                        raise InvalidInput(
                            f"app {app!r}: resource path {prefix!r} must start with '/'"
                        )
                    key = prefix.rstrip("/") or "/"
                    if key in found and found[key] != resource.label:
                        raise InvalidInput(f"app {app!r}: path {key} is labelled twice")
                    found[key] = resource.label
        label = app_label or DEFAULT_LABEL
        _check(label)
        ordered = sorted(found.items(), key=lambda item: len(item[0]), reverse=True)
        return cls(label, tuple(ordered))

    def label_of(self, path: str) -> DataLabel:
        found = self.memo.get(path)
        if found is not None:
            return found
        found = self.app_label
        for prefix, label in self.prefixes:
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                found = label
                break
        if len(self.memo) >= LABEL_MEMO:
            self.memo.clear()
        self.memo[path] = found
        return found


def _check(label: DataLabel) -> None:
    if label.sensitivity not in SENSITIVITY:
        raise InvalidInput(
            f"unknown sensitivity {label.sensitivity!r} (expected {', '.join(SENSITIVITY)})"
        )
