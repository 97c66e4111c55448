"""Kiosk settings: each declared once, with its default, type and description.

Read from `KIOSK_*` environment variables and a TOML file named by `KIOSK_CONFIG` or by
`kiosk ... --config PATH` (the option wins over the variable). Environment variables win over
the file, so a technician can override one value without editing it. `kiosk settings` prints
the reference table generated from these declarations.
"""

from __future__ import annotations

import contextvars
import os
import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kiosk.api.signing import KIOSK_ID_RE

ENV_PREFIX = "KIOSK_"
CONFIG_ENV = "KIOSK_CONFIG"

Language = Literal["zh_Hant_HK", "zh_Hans_CN", "en", "pt_MO"]

# settings_customise_sources is a classmethod with a fixed signature, so the file chosen on
# the command line reaches it through a context variable rather than an argument.
_toml_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("_toml_file", default=None)


class ConfigError(ValueError):
    """Settings that cannot be used; the message is one line, fit for stderr."""


class KioskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    backend_url: str = Field(
        default="http://127.0.0.1:8600",
        description="Base URL of the bureau's back end (`run --demo` replaces it with the "
        "local demo back end)",
    )
    kiosk_id: str = Field(
        default="HK-DEMO-01",
        pattern=KIOSK_ID_RE.pattern,
        description="This kiosk's id, as registered with `kiosk-backend kiosk register`",
    )
    site: str = Field(
        default="Demo self-service point",
        min_length=1,
        max_length=200,
        description="Where the kiosk stands, as registered with the back end",
    )
    data_dir: Path = Field(
        default=Path("kiosk-data"),
        description="Directory for the device key, the outbox, logs and Kivy's files",
    )
    device_key_path: Path | None = Field(
        default=None,
        description="The Ed25519 device key (PEM, created on first use); "
        "default `<data_dir>/device-key.pem`",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM bundle of CAs trusted for the back end's TLS certificate; "
        "default: the system store",
    )
    pin_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the back end's TLS certificate (64 hex digits, colons "
        "allowed); when set, any other certificate is refused",
    )
    connect_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="Timeout for connecting to the back end"
    )
    read_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Timeout for each answer of the back end"
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts for calls that are safe to repeat"
    )
    language: Language = Field(default="zh_Hant_HK", description="Language a new session starts in")
    idle_warning_s: int = Field(
        default=45, ge=5, description="Seconds without a touch before the 'are you there?' prompt"
    )
    idle_reset_s: int = Field(
        default=60,
        ge=10,
        description="Seconds without a touch before the session is cleared and the kiosk "
        "returns to its start screen",
    )
    heartbeat_interval_s: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="Seconds between heartbeats when the back end does not ask for another "
        "interval",
    )
    jurisdiction: Literal["HK", "MO"] = Field(
        default="HK",
        description="Where the kiosk stands, for the consent notice: Hong Kong (PDPO) or "
        "Macau (Law 8/2005)",
    )
    handset_device: str | None = Field(
        default=None,
        description="ALSA device of a handset or headphones (e.g. `plughw:CARD=Headset`): only "
        "then may the resident's pension summary be read aloud, through it alone; the "
        "loudspeaker never speaks personal data",
    )
    lockdown: bool = Field(
        default=False,
        description="Kiosk lockdown (true on a kiosk): Ctrl+C, window-close requests and the "
        "mouse cursor do nothing; an unexpected error shows the out-of-service screen",
    )
    fullscreen: bool = Field(
        default=False, description="Fill the screen without decorations (true on a kiosk)"
    )
    window_width: int = Field(
        default=1280, ge=320, le=7680, description="Window width in pixels when not fullscreen"
    )
    window_height: int = Field(
        default=720, ge=240, le=4320, description="Window height in pixels when not fullscreen"
    )
    devices: Literal["hardware", "simulated"] = Field(
        default="hardware",
        description="Drive the hardware named below, or the simulated devices (`run --demo` "
        "and `kiosk scenario` choose simulated)",
    )
    camera: str = Field(
        default="0",
        min_length=1,
        description="The camera for OpenCV: a device index, a /dev/video* path or a stream URL",
    )
    face_pipeline: Literal["auto", "simulated", "live", "actor"] = Field(
        default="auto",
        description="The face capture: `live` analyses the camera's frames (quality coaching, "
        "active liveness, template); `simulated` plays the simulated resident's captures; "
        "`actor` runs the live pipeline on the simulated camera, where the demo actor (a "
        "recorded person from the evaluation clips) answers the prompts (`simulated` and "
        "`actor`: simulated devices only; `run --demo` chooses `actor` when her clip is "
        "found). `auto` is live on hardware and simulated with simulated devices. `live` "
        "with simulated devices takes the OpenCV camera named by `CAMERA` and simulates "
        "everything else: a webcam demo (`kiosk run --demo --camera 0`; enrol the face shown "
        "with `kiosk-backend enrol`)",
    )
    camera_width: int = Field(default=1280, ge=160, le=7680, description="Camera frame width")
    camera_height: int = Field(default=720, ge=120, le=4320, description="Camera frame height")
    camera_fps: float = Field(default=30.0, gt=0, le=120, description="Camera frame rate asked for")
    fingerprint_port: str = Field(
        default="/dev/ttyUSB0",
        min_length=1,
        description="Serial port (or pyserial URL) of the R30x-family fingerprint module",
    )
    fingerprint_device: Literal["auto", "simulator", "r30x"] = Field(
        default="auto",
        description="The fingerprint module: `r30x` at `FINGERPRINT_PORT`, `simulator` the "
        "R30x protocol simulator on a pseudo-terminal (simulated devices only), `auto` as "
        "`DEVICES` says. Either way the kiosk's R30x driver reads it (`kiosk run --demo "
        "--fingerprint /dev/ttyUSB0`: a real module in a demo)",
    )
    printer: str = Field(
        default="usb://0416:5011",
        min_length=1,
        description="The receipt printer: `usb://VID:PID`, `tcp://HOST[:PORT]` or "
        "`serial:///dev/ttyUSB1?baudrate=19200`",
    )
    volume: float = Field(default=0.8, ge=0, le=1, description="Voice guidance volume, 0 to 1")
    muted: bool = Field(
        default=False,
        description="Start each session with voice guidance off (the resident can turn it on)",
    )
    maintenance_max_failures: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Wrong technician PINs in a row before maintenance mode locks",
    )
    maintenance_lockout_s: int = Field(
        default=900,
        ge=60,
        le=86400,
        description="Seconds maintenance mode stays locked after too many wrong PINs (the "
        "count survives a restart)",
    )
    maintenance_idle_s: int = Field(
        default=120,
        ge=30,
        le=3600,
        description="Seconds without a touch before maintenance mode closes and the kiosk "
        "returns to its start screen",
    )
    log_file_max_kb: int = Field(
        default=1024,
        ge=16,
        le=102400,
        description="Size at which `<data_dir>/kiosk.log` is rotated (KiB); maintenance "
        "mode shows it, redacted",
    )
    log_file_count: int = Field(
        default=5, ge=1, le=50, description="Rotated log files kept beside `kiosk.log`"
    )

    @field_validator("backend_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("pin_sha256")
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        pin = value.replace(":", "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", pin):
            raise ValueError("must be 64 hex digits (the SHA-256 of the certificate)")
        return pin

    @model_validator(mode="after")
    def _derived(self) -> KioskSettings:
        if self.device_key_path is None:
            self.device_key_path = self.data_dir / "device-key.pem"
        if self.idle_warning_s >= self.idle_reset_s:
            raise ValueError("idle_warning_s must be shorter than idle_reset_s")
        # A simulator on a real kiosk would hand the back end evidence no one gave.
        if self.face_pipeline in ("simulated", "actor") and self.devices == "hardware":
            raise ValueError(f"face_pipeline {self.face_pipeline} needs devices simulated")
        if self.fingerprint_device == "simulator" and self.devices == "hardware":
            raise ValueError("fingerprint_device simulator needs devices simulated")
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
        toml_file = _toml_file.get()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(config: str | Path | None = None, **overrides) -> KioskSettings:
    """The settings from the environment and the TOML file (`config`, else $KIOSK_CONFIG).
    Raises ConfigError with a one-line message."""
    chosen = config if config is not None else os.environ.get(CONFIG_ENV) or None
    path = Path(chosen) if chosen is not None else None
    if path is not None and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    token = _toml_file.set(path)
    try:
        return KioskSettings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {describe(exc)}") from exc
    finally:
        _toml_file.reset(token)


def describe(exc: ValidationError) -> str:
    """A ValidationError as one line: `field: problem (got value)`, joined by '; '."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        if err["type"] == "extra_forbidden":
            msg, shown = "unknown setting", ""
        parts.append(f"{where}: {msg}{shown}")
    return "; ".join(parts)


def _type_name(annotation) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " / ".join(str(a) for a in args)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, UnionType):
        return " | ".join(_type_name(a) for a in args)
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def markdown_table(model: type[BaseSettings], prefix: str = ENV_PREFIX) -> str:
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        default = "" if field.default is None else f"`{field.default}`"
        kind = _type_name(field.annotation).replace("|", "\\|")  # a bare | ends the cell
        rows.append(f"| `{prefix}{name.upper()}` | {kind} | {default} | {field.description} |")
    return "\n".join(rows)
