"""Bearer credentials: random, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib

from shared.credentials import bearer_credential, digest_of, matches, new_credential


def test_a_credential_has_256_random_bits_and_is_stored_as_its_sha256() -> None:
    credential = new_credential()

    assert len(credential) == 43
    assert credential != new_credential()
    assert digest_of(credential) == hashlib.sha256(credential.encode()).hexdigest()


def test_only_the_credential_matches_its_digest() -> None:
    credential = new_credential()
    digest = digest_of(credential)

    assert matches(credential, digest)
    assert not matches(new_credential(), digest)
    assert not matches(credential, None)
    assert not matches("", None)


def test_a_bearer_credential_is_read_from_the_authorization_header() -> None:
    assert bearer_credential("Bearer abc") == "abc"
    assert bearer_credential("bearer  abc ") == "abc"
    for header in (None, "", "Bearer", "Bearer ", "Basic abc", "abc"):
        assert bearer_credential(header) is None
