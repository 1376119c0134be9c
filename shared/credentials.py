"""Bearer credentials: 256 random bits handed out once, kept only as their SHA-256.

A slow, salted hash (bcrypt, scrypt) protects guessable secrets such as passwords; these are
random, so finding one from its digest means searching 2**256 values and a plain SHA-256 is
enough (as for API tokens). Comparisons run in constant time, and as long when there is no
digest to compare with, so a caller cannot tell "no such thing" from "wrong credential".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CREDENTIAL_BYTES = 32
_NO_DIGEST = "0" * 64


def new_credential() -> str:
    """A fresh credential: 256 random bits, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(CREDENTIAL_BYTES)


def digest_of(credential: str) -> str:
    """The SHA-256 of a credential, in hex: what is stored instead of it."""
    return hashlib.sha256(credential.encode()).hexdigest()


def bearer_credential(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header, else None."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def matches(credential: str, digest: str | None) -> bool:
    """Whether ``credential`` is the one ``digest`` was made from, in constant time (also when
    ``digest`` is None: nothing matches it)."""
    same = hmac.compare_digest(digest_of(credential), digest or _NO_DIGEST)
    return same and digest is not None
