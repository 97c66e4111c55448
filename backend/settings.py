"""Back-end settings: each declared once, with its default, type and description.

Read from `KIOSK_BACKEND_*` environment variables (and a TOML file named by
`KIOSK_BACKEND_CONFIG`). The README's configuration reference is generated from these
declarations (`kiosk-backend settings`), and a test keeps the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIOSK_BACKEND_", extra="forbid")

    db_url: str = Field(
        default="sqlite:///backend-data/backend.sqlite3",
        description="SQLAlchemy URL: a SQLite file by default, or postgresql+psycopg://...",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on")
    port: int = Field(default=8600, ge=0, le=65535, description="Port `serve` listens on")
    clock_skew_s: int = Field(
        default=300,
        ge=1,
        description="Largest accepted difference between a request's "
        "timestamp and the server clock, in seconds",
    )
    max_body_bytes: int = Field(
        default=4_000_000, ge=1024, description="Largest accepted request body"
    )
    subject_token_ttl_s: int = Field(
        default=600, ge=30, description="Lifetime of the token returned by identify"
    )
    session_ttl_s: int = Field(
        default=1800, ge=60, description="Lifetime of a verification session"
    )
    identify_limit_per_document: int = Field(
        default=5,
        ge=1,
        description="Failed identify attempts allowed per document number "
        "per window, against guessing a birth date",
    )
    identify_limit_per_kiosk: int = Field(
        default=60,
        ge=1,
        description="Identify calls allowed per kiosk per window, against enumeration",
    )
    identify_window_s: int = Field(
        default=3600, ge=60, description="Window of the identify rate limits, in seconds"
    )
    face_attempts: int = Field(default=3, ge=1, description="Face attempts per session")
    finger_attempts: int = Field(default=3, ge=1, description="Fingerprint attempts per session")
    face_match_distance: float = Field(
        default=0.45,
        gt=0,
        description="Face template distance at or below which 1:1 "
        "comparison is a match (policy: held by the server, not the kiosk)",
    )
    face_borderline_distance: float = Field(
        default=0.55,
        gt=0,
        description="Face distance up to which a non-match is borderline "
        "and goes to manual review rather than a retry",
    )
    liveness_max_attack_score: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Largest passive presentation-attack score (0..1, reported by a live "
        "kiosk's liveness check) accepted as live; 0.5 is the score's documented decision "
        "point (biometrics/face/liveness/pad.py)",
    )
    finger_match_score: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Fingerprint similarity at or above which 1:1 comparison is a match",
    )
    finger_match_threshold: float = Field(
        default=0.035,  # biometrics.fingerprint.DEFAULT_THRESHOLD (a test keeps them equal)
        gt=0,
        le=1,
        description="Score of the fingerprint matcher (biometrics/fingerprint, `gabor-mcc` "
        "templates) at or above which 1:1 comparison is a match; by default the matcher's "
        "documented operating point (FVC2002: 1 false match in 11,520). "
        "`FINGER_MATCH_SCORE` applies to simulated (`sim-`) templates only",
    )
    certification_period_days: int = Field(
        default=365, ge=1, description="Days from one certification to the next due date"
    )
    certification_window_days: int = Field(
        default=90, ge=0, description="Days before the due date from which a cycle is 'due'"
    )
    suspension_after_overdue_days: int = Field(
        default=90, ge=0, description="Days past the due date after which payments are suspended"
    )
    evidence_key_path: str = Field(
        default="backend-data/evidence-key.pem",
        description="X25519 private key that kiosks encrypt evidence to (created on first "
        "use, mode 0600)",
    )
    evidence_validity_s: int = Field(
        default=72 * 3600,
        ge=60,
        description="How long after capture evidence is accepted "
        "(an outbox may deliver it hours later)",
    )
    ecard_key_path: str = Field(
        default="backend-data/ecard-key.pem",
        description="Ed25519 keys that sign residents' QR e-cards, with their validity "
        "(created on first use, mode 0600; `kiosk-backend ecard rotate` adds a new one)",
    )
    heartbeat_interval_s: int = Field(
        default=30, ge=5, description="Interval the back end asks kiosks to report at"
    )
    fleet_stale_after_s: int = Field(
        default=90,
        ge=10,
        description="Seconds since a kiosk's last heartbeat after which the fleet page "
        "shows it stale",
    )
    fleet_offline_after_s: int = Field(
        default=300,
        ge=20,
        description="Seconds since a kiosk's last heartbeat after which the fleet page shows "
        "it offline (more than `FLEET_STALE_AFTER_S`)",
    )
    fleet_disk_low_mb: int = Field(
        default=1024, ge=0, description="Free disk (MB) below which the fleet page alerts"
    )
    fleet_outbox_age_s: int = Field(
        default=3600,
        ge=60,
        description="Age of a kiosk's oldest outbox item after which the fleet page alerts",
    )
    heartbeat_retention_days: int = Field(
        default=30,
        ge=1,
        description="Days heartbeats are kept (`kiosk-backend retention run` deletes older ones)",
    )
    staff_login_failures: int = Field(
        default=5,
        ge=1,
        description="Failed staff sign-ins (password or one-time code) after which the "
        "account is locked",
    )
    staff_lockout_s: int = Field(
        default=900, ge=1, description="How long a locked staff account stays locked, in seconds"
    )
    staff_session_idle_s: int = Field(
        default=900, ge=60, description="A staff session ends after this many idle seconds"
    )
    staff_session_max_s: int = Field(
        default=8 * 3600,
        ge=300,
        description="A staff session ends this many seconds after sign-in, however busy",
    )
    staff_secure_cookie: bool = Field(
        default=False,
        description="Mark the staff session cookie Secure even on plain HTTP (when TLS ends "
        "at a proxy); it is always Secure on HTTPS",
    )
    evidence_retention_days: int = Field(
        default=30,
        ge=0,
        description="Days after a session's final decision (machine or reviewer) after which "
        "its evidence (frames, liveness traces) is purged by `kiosk-backend retention run`",
    )
    notifier: str = Field(
        default="log",
        description="How residents are told of a review decision: `log` (recorded in the "
        "notifications table and the log, no gateway) or `module:factory`, a callable taking "
        "the settings and returning a notifier (backend/staff/notify.py)",
    )

    @model_validator(mode="after")
    def _fleet_thresholds_in_order(self):
        if self.fleet_offline_after_s <= self.fleet_stale_after_s:
            raise ValueError("fleet_offline_after_s must be more than fleet_stale_after_s")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("KIOSK_BACKEND_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)
