"""The LANL quality evaluation of ``bench/monitor.py`` on the real pieces (Kent 2015,
doi:10.17021/1179829): only the robust facts, no timing. Skips locally without ../shared;
on CI the data set must be there."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.monitor import quality

from bench import monitor_quality as q
from tests.conftest import require_service

LANL = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "lanl"


def _lanl() -> Path:
    if not (LANL / "benign_auth_sample.txt").exists():
        require_service("LANL data set", f"{LANL} not found")
    return LANL


def test_lanl_pieces_parse_to_the_readme_row_counts() -> None:
    """Every line of the three files is read: 15,000 benign, 1,892 red-team, 749 labels."""
    data = q.load(_lanl())
    assert data.malformed == 0
    assert len(data.train) == 10_000
    assert len(data.day2) == 5_000
    assert len(data.red) == 1_892
    assert data.labels == 749
    assert len({event.user for event in data.red}) == 104


def test_quality_evaluation_runs_all_methods_on_the_same_events() -> None:
    """menshen, the forest, the rarity score and the shortcut each report on the same sets;
    at its every-user operating point menshen flags every red-team user with fewer day-2
    false alarms than the forest and the rarity score at theirs, and than the shortcut rule."""
    directory = _lanl()
    if importlib.util.find_spec("sklearn") is None:
        require_service("scikit-learn", "the bench extra is not installed (pip install .[bench])")
    found = quality(directory, seed=7)
    assert found["rows_match_readme"]
    results = found["results"]
    assert {row["method"] for row in results} == {
        "menshen",
        "isolation_forest",
        "rarity",
        "shortcut_rule",
    }
    assert all(row["day2_events"] == 5_000 and row["redteam_events"] == 1_892 for row in results)
    every = {row["method"]: row for row in results if row["threshold"].startswith("flags every")}
    assert all(row["redteam_users_flagged"] == 104 for row in every.values())
    assert every["menshen"]["day2_alerts"] < every["isolation_forest"]["day2_alerts"]
    assert every["menshen"]["day2_alerts"] < every["rarity"]["day2_alerts"]
    shortcut = results[3]
    assert shortcut["method"] == "shortcut_rule"
    assert every["menshen"]["day2_alerts"] < shortcut["day2_alerts"]
    default = results[0]
    assert default["method"] == "menshen"
    assert default["redteam_user_share"] == 1.0  # the default flags every red-team user
    assert default["day2_alerts"] <= shortcut["day2_alerts"] + 2  # and stays near the rule


def test_fast_reader_agrees_with_the_pipeline_mapper_on_every_line() -> None:
    """hostauth's LanlReader and the ingest pipeline's map_lanl read the files alike."""
    from datetime import UTC, datetime

    from menshen.monitor.hostauth.lanl import LANL_ORIGIN, LanlReader
    from menshen.monitor.ingest.mappers.lanl import map_lanl
    from menshen.monitor.ingest.reject import MapContext

    directory = _lanl()
    ctx = MapContext("lanl", "lanl", now=datetime(2030, 1, 1, tzinfo=UTC), epoch=LANL_ORIGIN)
    reader = LanlReader("lanl")
    fields = ("at", "action", "outcome", "user", "src_host", "dst_host", "auth_type", "logon_type")
    for name in ("benign_auth_sample.txt", "redteam_auth_events.txt"):
        with (directory / name).open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                ours = reader.parse(line, number)
                theirs = map_lanl(line, ctx, str(number))
                assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
