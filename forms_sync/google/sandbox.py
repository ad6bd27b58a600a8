"""Throwaway service-account keys for the sandbox, so trying forms-sync needs no Google account."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from forms_sync.google.credentials import token_uri_for

SANDBOX_ROOT = "http://127.0.0.1:8765"


def sandbox_key(root: str = SANDBOX_ROOT) -> dict:
    """A service-account key with a fresh RSA key, whose tokens come from the sandbox at `root`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    return {
        "type": "service_account",
        "project_id": "forms-sync-sandbox",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": "forms-sync@forms-sync-sandbox.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri_for(root),
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "",
        "universe_domain": "googleapis.com",
    }


def write_key(path: str | os.PathLike, info: dict) -> Path:
    """Write a key file readable by its owner only (0600), created that way, never widened later."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(info, out, indent=2)
        out.write("\n")
    return path
