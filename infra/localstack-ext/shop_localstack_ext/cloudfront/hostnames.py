"""Which distribution a request's ``Host`` names, as pure functions over DNS-like records.

Three forms reach a distribution: ``<id>.cloudfront.localhost.localstack.cloud`` (LocalStack's
form), ``<random>.cloudfront.net`` (the domain name the API reports, as on AWS), and any name
that a Route 53 alias (A/AAAA) or CNAME record points at one of those, directly or through a
chain of such records.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

EDGE_HOST = re.compile(r"(?P<id>[a-z0-9]+)\.cloudfront\.localhost\.localstack\.cloud")
MAX_HOPS = 8
ROUTED_TYPES = frozenset({"A", "AAAA", "CNAME"})

T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """One record set as the edge reads it: an alias target or the values of a CNAME."""

    name: str
    type: str
    alias_target: str | None = None
    values: tuple[str, ...] = ()

    def target(self) -> str | None:
        if self.alias_target:
            return dns_name(self.alias_target)
        if self.type == "CNAME" and self.values:
            return dns_name(self.values[0])
        return None


def dns_name(name: str) -> str:
    """A host or record name compared as DNS does: lower case, no trailing dot, no port."""
    host = name.strip().lower()
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")]
    if host.count(":") == 1:
        host = host.split(":")[0]
    return host.rstrip(".")


def is_address(host: str) -> bool:
    """Whether a host is an IP address (no record is looked up for those)."""
    try:
        ipaddress.ip_address(dns_name(host))
    except ValueError:
        return False
    return True


def distribution_id_in_edge_host(host: str) -> str | None:
    match = EDGE_HOST.fullmatch(dns_name(host))
    return match["id"] if match else None


def record_target(name: str, records: Iterable[Record]) -> str | None:
    """Where the alias or CNAME record for ``name`` points, if there is one."""
    wanted = dns_name(name)
    for record in records:
        if record.type in ROUTED_TYPES and dns_name(record.name) == wanted:
            target = record.target()
            if target:
                return target
    return None


def resolve(
    host: str, find_distribution: Callable[[str], T | None], records: Callable[[], list[Record]]
) -> T | None:
    """The distribution ``host`` reaches, following alias/CNAME records up to ``MAX_HOPS``.

    ``find_distribution`` maps a name in one of the direct forms to a distribution (or None);
    ``records`` is called at most once, and only when the host is not a direct form.
    """
    name = dns_name(host)
    if is_address(name):
        return None
    known: list[Record] | None = None
    for _ in range(MAX_HOPS):
        found = find_distribution(name)
        if found is not None:
            return found
        if known is None:
            known = records()
        target = record_target(name, known)
        if target is None:
            return None
        name = target
    return None
