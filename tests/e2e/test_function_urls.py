"""The readers' function URLs answer only the distribution: a call straight to a URL, around
CloudFront, is refused (403, as Lambda refuses an unsigned request to an ``AWS_IAM`` URL); the
same call through the site is served, signed by the distribution's origin access control."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from infra.cloudformation.topology.blocks import pascal
from infra.cloudformation.topology.http_readers import HTTP_READERS, HttpReader
from shared.function_url import CREDENTIAL_HEADER
from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def straight_to_the_url(shop: Shop, url: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """GET ``path`` of a function URL, unsigned; on an emulator through its gateway at the
    endpoint with the URL's host in ``Host`` (Python cannot resolve the names it hands out)."""
    if shop.endpoint is None:
        return httpx.get(f"{url.rstrip('/')}{path}", headers=headers, timeout=30)
    host = urlsplit(url).netloc
    return httpx.get(
        f"{shop.endpoint.rstrip('/')}{path}", headers={"Host": host, **headers}, timeout=30
    )


@pytest.mark.parametrize("reader", HTTP_READERS, ids=lambda reader: reader.name)
def test_an_unsigned_call_to_a_function_url_is_refused_and_served_through_the_edge(
    shop: Shop, reader: HttpReader
) -> None:
    path = reader.path_pattern.rstrip("*")
    headers = shop.as_operator(CREDENTIAL_HEADER) if reader.operators else {}
    url = shop.outputs[f"{pascal(reader.name)}FunctionUrl"]

    direct = straight_to_the_url(shop, url, path, headers)
    through_the_edge = shop.site.get(path, headers=headers)

    assert direct.status_code == 403, direct.text
    assert direct.json()["Message"].startswith("Forbidden")
    assert through_the_edge.status_code == 200, through_the_edge.text
    assert through_the_edge.headers["content-type"] == "application/json"
