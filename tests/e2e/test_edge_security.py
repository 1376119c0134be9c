"""The edge as the public reaches it: the security headers are on the API's answers as on the
page's, and an encoded traversal out of ``/api/*`` is served by the behaviour of its normalised
path (the site), never by the API."""

from __future__ import annotations

import pytest

from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SECURITY_HEADERS = (
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
)


@pytest.mark.parametrize("path", ["/", "/api/orders"])
def test_answers_of_the_page_and_the_api_carry_the_security_headers(shop: Shop, path: str) -> None:
    reply = shop.site.get(path)
    missing = [name for name in SECURITY_HEADERS if name not in reply.headers]
    assert missing == [], f"{path} answered {reply.status_code} without {missing}"
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


def test_an_encoded_traversal_out_of_the_api_is_served_as_its_normalised_path(
    shop: Shop,
) -> None:
    page = shop.site.get("/")
    climbed = shop.site.get("/api/%2e%2e/index.html")
    assert (climbed.status_code, climbed.text) == (200, page.text)
    assert "application/problem+json" not in climbed.headers.get("content-type", "")
