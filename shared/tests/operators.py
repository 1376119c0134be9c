"""Operators for tests: a directory held in memory, and operators in LocalStack's Parameter
Store under a path of the test's own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shared.credentials import digest_of, new_credential
from shared.operators import OperatorRegistry, Operators


class StaticDirectory:
    """Operators held in memory: ``issue`` adds one and returns its credential."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def digests(self) -> Mapping[str, str]:
        return dict(self.known)

    def issue(self, name: str) -> str:
        credential = new_credential()
        self.known[name] = digest_of(credential)
        return credential


def operators_with(*names: str) -> tuple[Operators, dict[str, str]]:
    """Operators of these names, and each one's credential."""
    directory = StaticDirectory()
    credentials = {name: directory.issue(name) for name in names}
    return Operators(directory), credentials


@contextmanager
def parameter_store_operators(ssm: Any, path: str) -> Iterator[OperatorRegistry]:
    """A registry under ``path``, emptied when the block ends."""
    registry = OperatorRegistry(ssm, path)
    try:
        yield registry
    finally:
        for name in registry.names():
            registry.remove(name)
