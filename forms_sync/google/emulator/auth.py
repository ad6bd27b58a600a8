"""The OAuth2 token endpoint and the bearer-token check, with scopes enforced per method.

Enforcing scopes is what lets the tests prove least privilege: a `generate` that asked for a
read-only scope, or a `sync` that asked for forms.body, fails here the way it would at Google.
Signatures are not verified: the emulator has no registry of public keys, and trusts its caller.
"""
from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time

from forms_sync.google.emulator.errors import ApiError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600


class OAuthError(Exception):
    """An OAuth2 error answer: {"error": ..., "error_description": ...} with HTTP 400."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class TokenStore:
    """Access tokens issued by the emulator and the scopes each one carries."""

    def __init__(self):
        self._tokens: dict[str, tuple[frozenset[str], float]] = {}
        self._lock = threading.Lock()

    def issue(self, scopes: frozenset[str]) -> str:
        token = "ya29.emulator-" + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (scopes, time.time() + TOKEN_LIFETIME)
        return token

    def scopes_of(self, token: str) -> frozenset[str] | None:
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def issued(self) -> list[str]:
        """Every token handed out (for tests proving that none leaks into output)."""
        with self._lock:
            return list(self._tokens)


def token_response(store: TokenStore, form: dict[str, str]) -> dict:
    """Answer a token request: the JWT-bearer grant (service accounts) or a refresh-token grant."""
    grant = form.get("grant_type")
    if grant == JWT_BEARER:
        claims = _jwt_claims(form.get("assertion", ""))
        missing = [c for c in ("iss", "aud", "iat", "exp", "scope") if c not in claims]
        if missing:
            raise OAuthError("invalid_grant", f"Invalid JWT: missing claim(s) {', '.join(missing)}.")
        now = time.time()
        if not (isinstance(claims["exp"], (int, float)) and isinstance(claims["iat"], (int, float))
                and claims["iat"] - 300 <= now <= claims["exp"] and claims["exp"] - claims["iat"] <= 3600):
            raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) "
                                              "and in a reasonable timeframe.")
        scopes = frozenset(str(claims["scope"]).split())
    elif grant == "refresh_token":
        if not form.get("refresh_token"):
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        scopes = frozenset(form.get("scope", "").split()) or frozenset({"https://www.googleapis.com/auth/drive"})
    else:
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")
    return {"access_token": store.issue(scopes), "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}


def _jwt_claims(assertion: str) -> dict:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "Invalid JWT: not a signed JWT (header.claims.signature).")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_grant", "Invalid JWT: the claim set cannot be decoded.") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_grant", "Invalid JWT: the claim set is not an object.")
    return claims


def authorize(store: TokenStore, authorization: str | None, method_scopes: tuple[str, ...]) -> None:
    """401 without a valid token, 403 when the token's scopes allow none of the method's scopes."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                            "token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")
    scopes = store.scopes_of(authorization.split(None, 1)[1].strip())
    if scopes is None:
        raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                            "login cookie or other valid authentication credential.", "UNAUTHENTICATED")
    if method_scopes and not scopes & set(method_scopes):
        raise ApiError(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED", [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com", "metadata": {"method": "", "service": ""}}])
