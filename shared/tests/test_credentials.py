"""Bearer credentials: random, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib

from shared.credentials import digest_of, matches, new_credential


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
