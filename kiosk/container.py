"""The one place that turns settings into the kiosk's collaborators.

Everything that chooses between real and simulated parts, or configures how the kiosk talks to
the back end, happens here, so the rest of the kiosk receives ready objects and never reads
settings to decide what it is talking to.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.api import keys
from kiosk.api.client import KioskApiClient
from kiosk.api.transport import RequestsTransport
from kiosk.config import KioskSettings


def device_key(settings: KioskSettings) -> Ed25519PrivateKey:
    """The device key, created on first use (what `kiosk key show` prints the public half of)."""
    return keys.load_or_create(settings.device_key_path)


def build_api_client(settings: KioskSettings) -> KioskApiClient:
    transport = RequestsTransport(
        ca_bundle=str(settings.ca_bundle) if settings.ca_bundle else None,
        pin_sha256=settings.pin_sha256,
    )
    return KioskApiClient(
        settings.backend_url,
        settings.kiosk_id,
        device_key(settings),
        transport=transport,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        retries=settings.retries,
    )


@dataclass
class Container:
    settings: KioskSettings
    api: KioskApiClient
    # Device drivers (camera, fingerprint, printer, reader) join here when drivers/ has them:
    # one field per device class, chosen in build() between the real driver and its
    # simulator (`run --demo`), so nothing else ever makes that choice.

    def close(self) -> None:
        self.api.close()


def build(settings: KioskSettings) -> Container:
    return Container(settings=settings, api=build_api_client(settings))
