"""Kiosk settings: defaults, environment, TOML file, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, KioskSettings, load_settings, markdown_table


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """The developer's own KIOSK_* variables must not leak into these tests."""
    import os

    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)


def test_defaults():
    s = load_settings()
    assert s.backend_url == "http://127.0.0.1:8600"
    assert s.data_dir == Path("kiosk-data")
    assert s.device_key_path == Path("kiosk-data") / "device-key.pem"
    assert s.ca_bundle is None and s.pin_sha256 is None
    assert (s.connect_timeout_s, s.read_timeout_s, s.retries) == (3.0, 10.0, 2)
    assert s.language == "zh_Hant_HK"
    assert (s.idle_warning_s, s.idle_reset_s, s.heartbeat_interval_s) == (45, 60, 30)
    assert s.fullscreen is False


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIOSK_RETRIES", "5")
    monkeypatch.setenv("KIOSK_FULLSCREEN", "true")
    monkeypatch.setenv("KIOSK_BACKEND_URL", "https://kiosk-api.example.org/base/")
    s = load_settings()
    assert s.retries == 5
    assert s.fullscreen is True
    assert s.backend_url == "https://kiosk-api.example.org/base"
    assert s.device_key_path == tmp_path / "device-key.pem"  # follows data_dir


def test_toml_file_by_argument_and_by_variable(monkeypatch, tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('kiosk_id = "MO-TAIPA-02"\nsite = "Taipa"\nidle_reset_s = 90\n')
    s = load_settings(cfg)
    assert (s.kiosk_id, s.site, s.idle_reset_s) == ("MO-TAIPA-02", "Taipa", 90)

    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    monkeypatch.setenv("KIOSK_SITE", "Macau, Taipa")  # the environment wins over the file
    s = load_settings()
    assert (s.kiosk_id, s.site) == ("MO-TAIPA-02", "Macau, Taipa")


def test_wrong_type_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("KIOSK_RETRIES", "many")
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "retries" in message and "'many'" in message and "integer" in message
    assert "\n" not in message


def test_wrong_type_and_unknown_key_in_toml(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('idle_reset_s = "soon"\nretires = 3\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    message = str(err.value)
    assert "idle_reset_s" in message and "'soon'" in message
    assert "retires: unknown setting" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KIOSK_BACKEND_URL", "kiosk-api.example.org", "backend_url: must start with http"),
        ("KIOSK_PIN_SHA256", "abc", "pin_sha256: must be 64 hex digits"),
        ("KIOSK_KIOSK_ID", "no spaces please", "kiosk_id"),
        ("KIOSK_LANGUAGE", "fr", "language"),
        ("KIOSK_IDLE_WARNING_S", "60", "idle_warning_s must be shorter than idle_reset_s"),
        ("KIOSK_CA_BUNDLE", "/no/such/ca.pem", "ca_bundle: no such file"),
    ],
)
def test_invalid_values(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=expected):
        load_settings()


def test_pin_is_normalised(monkeypatch):
    pin = ":".join(["AB"] * 32)
    monkeypatch.setenv("KIOSK_PIN_SHA256", pin)
    assert load_settings().pin_sha256 == "ab" * 32


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("retries = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_reference_table_has_every_setting_once_with_a_description():
    table = markdown_table(KioskSettings).splitlines()
    rows = table[2:]
    assert len(rows) == len(KioskSettings.model_fields)
    for name, field in KioskSettings.model_fields.items():
        (row,) = [r for r in rows if r.startswith(f"| `KIOSK_{name.upper()}` |")]
        assert field.description and field.description in row
        assert row.count(" | ") == 3  # an optional type's "|" is escaped, not a new column
