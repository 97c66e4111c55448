"""The back end's evidence key: kiosks encrypt evidence to its public half."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey


def load_or_create(path: str | Path) -> X25519PrivateKey:
    path = Path(path)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, X25519PrivateKey):
            raise ValueError(f"{path} does not hold an X25519 private key")
        return key
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return load_or_create(path)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


class Keyring:
    """Loads (or creates) the key on first use, so commands that never open evidence (such
    as `openapi`) never touch the key file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._key: X25519PrivateKey | None = None

    def private(self) -> X25519PrivateKey:
        if self._key is None:
            self._key = load_or_create(self.path)
        return self._key
