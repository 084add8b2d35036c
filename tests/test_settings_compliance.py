"""``tenants.<id>.compliance`` in menshen.yaml: the firm's profile and evidence limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from menshen.errors import ConfigError
from menshen.settings import load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "menshen.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_compliance_profile_is_parsed_with_its_limits(tmp_path: Path) -> None:
    """Flags, groups and limits arrive as typed values; other tenants get the defaults."""
    settings = load_settings(
        _write(
            tmp_path,
            "tenant: pay\ntenants:\n  pay:\n    compliance:\n"
            "      card_data: true\n      contractor_groups: [vendors]\n"
            "      stale_after_days: 45\n      respond_target_minutes: 5\n"
            "      records_held: 120000\n",
        ),
        environ={},
    )
    found = settings.options("pay").compliance
    assert found.card_data
    assert not found.e_payment
    assert found.contractor_groups == ("vendors",)
    assert found.stale_after == timedelta(days=45)
    assert found.respond_target == timedelta(minutes=5)
    assert found.records_held == 120_000
    assert settings.options("other").compliance.contractor_groups == ("contractors",)


@pytest.mark.parametrize(
    "line",
    ["stale_after_days: 0", "currency: twd", "records_held: -1", "score_percent: 90"],
)
def test_bad_compliance_options_stop_start_up(tmp_path: Path, line: str) -> None:
    """A bad value (or an unknown key, such as a made-up score) is a ConfigError."""
    with pytest.raises(ConfigError):
        load_settings(
            _write(tmp_path, f"tenant: pay\ntenants:\n  pay:\n    compliance:\n      {line}\n"),
            environ={},
        )


def test_catalog_dirs_resolve_relative_to_the_settings_file(tmp_path: Path) -> None:
    """A relative catalog directory is taken beside menshen.yaml; an absolute one as given."""
    text = (
        "tenant: pay\ntenants:\n  pay:\n    compliance:\n"
        f"      catalog_dirs: [our-catalogs, {tmp_path / 'shared'}]\n"
    )
    settings = load_settings(_write(tmp_path, text), environ={})
    found = settings.options("pay").compliance.catalog_dirs
    assert found == (tmp_path / "our-catalogs", tmp_path / "shared")
    assert settings.options("other").compliance.catalog_dirs == ()
