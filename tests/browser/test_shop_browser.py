"""The shop in headless Chromium through the deployed edge: a customer orders and follows the
order with its access token, an operator reviews, lists, redrives and reads analytics with their
credential; caching; the security headers of the page (its content security policy is a header,
and any violation of it is a console error every test reports).

Runs against the shop of `tests/conftest.py` (a stack of its own, or the one configured with
`SHOP_SITE_URL`) and Debian's Chromium (`CHROMIUM_PATH`, default /usr/bin/chromium). Outside CI
a missing browser skips these tests with the reason; with `BROWSER_TESTS=required` (set by
`.ci/run`) it fails them. Screenshots go to `BROWSER_ARTIFACTS` (default
`test-artifacts/browser`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "test-artifacts" / "browser"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRED = os.environ.get("BROWSER_TESTS") == "required"
SAGA_TIMEOUT_MS = 90_000
UI_TIMEOUT_MS = 15_000


# Text whose colour has less than 4.5:1 contrast with its background (WCAG AA).
LOW_CONTRAST_TEXT = (Path(__file__).with_name("low_contrast_text.js")).read_text()


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (BROWSER_TESTS=required)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site_url(shop: Shop) -> str:
    return shop.browser_url


@pytest.fixture(scope="module")
def operator_credential(shop: Shop) -> str:
    return shop.operator.credential


@pytest.fixture(scope="module")
def playwright(site_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        unavailable(f"Chromium not found at {CHROMIUM}: `apt-get install chromium`")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield chromium
    chromium.close()


@dataclass
class Tab:
    """A page with what went wrong in it (console errors, page errors, failed requests) and the
    URL of every request it made."""

    page: Any
    name: str
    problems: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def screenshot(self, step: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{step}.png"), full_page=True)


@pytest.fixture
def tab(browser: Any, site_url: str, request: pytest.FixtureRequest) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    opened = Tab(page, re.sub(r"\W+", "-", request.node.name).strip("-"))
    page.on("console", lambda message: record_console_error(opened, message))
    page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda failed: record_failed_request(opened, failed))
    page.on("request", lambda sent: opened.requested.append(sent.url))
    page.goto(site_url)
    yield opened
    opened.screenshot("end")
    context.close()
    assert opened.problems == [], "the browser reported problems"


def record_console_error(tab: Tab, message: Any) -> None:
    if message.type == "error":
        tab.problems.append(message.text)


def record_failed_request(tab: Tab, failed: Any) -> None:
    """A failed request is a problem, except one aborted by leaving or reloading the page."""
    if failed.failure != "net::ERR_ABORTED":
        tab.problems.append(f"request failed: {failed.url} {failed.failure}")


def place_order(
    tab: Tab,
    *,
    sku: str,
    quantity: int,
    country: str,
    card: str = "tok_approve",
    email_domain: str = "example.com",
) -> str:
    """Add `sku` to the cart, check out, and return the new order id."""
    page = tab.page
    page.goto(page.url.split("#", 1)[0] + "#/")
    product = page.locator(f"li.product[data-sku='{sku}']")
    product.get_by_label(re.compile("^Quantity of")).fill(str(quantity))
    product.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.get_by_label("E-mail").fill(f"buyer-{uuid.uuid4().hex[:8]}@{email_domain}")
    page.get_by_label("Shipping country").select_option(country)
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Test card").select_option(card)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"#/orders/[^/]+$"))
    order_id: str = page.locator("code.order-id").inner_text()
    return order_id


def wait_for_status(tab: Tab, label: str) -> None:
    tab.page.locator(".order-status", has_text=f"Status: {label}").wait_for(timeout=SAGA_TIMEOUT_MS)


def enter_operator_credential(tab: Tab, credential: str) -> None:
    tab.page.get_by_label("Operator credential").fill(credential)
    tab.page.get_by_role("button", name="Use credential").click()
    tab.page.get_by_text("Operator credential set for this tab").wait_for()


def stored_token(tab: Tab, order_id: str) -> str:
    """The access token this browser keeps for ``order_id`` (localStorage)."""
    token: str = tab.page.evaluate(
        """id => JSON.parse(localStorage.getItem('shop.orders.v2'))
            .find((entry) => entry.id === id).token""",
        order_id,
    )
    return token


def timeline_types(tab: Tab) -> list[str]:
    return [text.strip() for text in tab.page.locator(".timeline .event-type").all_inner_texts()]


def test_an_order_is_placed_and_reaches_confirmed_with_its_timeline(tab: Tab) -> None:
    tab.screenshot("catalogue")
    order_id = place_order(tab, sku="MUG-001", quantity=2, country="DE")
    tab.screenshot("placed")

    wait_for_status(tab, "Confirmed")
    tab.page.locator(".timeline-event[data-type='OrderConfirmed']").wait_for()
    tab.screenshot("confirmed")

    types = timeline_types(tab)
    assert types[0] == "OrderPlaced"
    assert "OrderConfirmed" in types
    causes = tab.page.locator(".timeline-event[data-type='OrderConfirmed'] .event-cause")
    assert causes.inner_text() != "Caused by: —"
    tab.page.get_by_role("link", name="My orders").first.click()
    row = tab.page.locator(f"tr[data-order-id='{order_id}']")
    row.wait_for()
    assert row.get_attribute("data-status") == "confirmed"
    tab.screenshot("my-orders")
    token = stored_token(tab, order_id)
    assert len(token) == 43
    assert not [url for url in tab.requested if token in url], "a token in a URL"


def test_another_browser_cannot_open_a_customers_order(
    tab: Tab, browser: Any, site_url: str
) -> None:
    order_id = place_order(tab, sku="MUG-001", quantity=1, country="DE")
    tab.page.locator(".order-status").wait_for()
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(f"{site_url}#/orders/{order_id}")
        page.get_by_text("This browser cannot open this order").wait_for()
        assert page.locator(".timeline-event").count() == 0
        assert page.get_by_role("button", name="Cancel order").count() == 0
    finally:
        other.close()


def test_a_risky_order_is_held_and_approved_from_the_review_queue(
    tab: Tab, operator_credential: str, shop: Shop
) -> None:
    # Screened for its country and amount, flagged for both plus a disposable e-mail domain.
    order_id = place_order(
        tab, sku="WATCH-006", quantity=2, country="BR", email_domain="mailinator.com"
    )
    wait_for_status(tab, "On hold for review")
    tab.screenshot("on-hold")

    tab.page.get_by_role("link", name="Review").click()
    enter_operator_credential(tab, operator_credential)
    card = tab.page.locator(f"li.review-card[data-order-id='{order_id}']")
    card.wait_for(timeout=SAGA_TIMEOUT_MS)
    card.get_by_label("Reason").fill("customer verified by phone")
    tab.screenshot("review-queue")
    card.get_by_role("button", name=re.compile("^Approve")).click()
    tab.page.get_by_text(re.compile(r"Order \w+ approved")).wait_for()

    tab.page.goto(tab.page.url.split("#", 1)[0] + f"#/orders/{order_id}")
    wait_for_status(tab, "Confirmed")
    assert "OrderReviewApproved" in timeline_types(tab)
    approved = tab.page.locator(".timeline-event[data-type='OrderReviewApproved'] .event-reviewer")
    assert approved.inner_text() == f"by {shop.operator.name}"
    tab.screenshot("approved")
    assert not [url for url in tab.requested if operator_credential in url]


def test_an_operator_lists_every_order_and_opens_one_without_cancelling(
    tab: Tab, operator_credential: str
) -> None:
    order_id = place_order(tab, sku="MUG-001", quantity=1, country="DE")
    tab.page.evaluate("localStorage.removeItem('shop.orders.v2')")  # not this customer now

    tab.page.get_by_role("link", name="All orders").click()
    enter_operator_credential(tab, operator_credential)
    row = tab.page.locator(f"tr[data-order-id='{order_id}']")
    row.wait_for()
    tab.screenshot("all-orders")
    row.get_by_role("link").click()

    tab.page.locator(".timeline-event[data-type='OrderPlaced']").wait_for()
    assert tab.page.get_by_role("button", name="Cancel order").count() == 0


def test_a_dead_letter_queue_is_redriven_from_the_operations_view(
    tab: Tab, operator_credential: str, shop: Shop
) -> None:
    place_order(tab, sku="STICK-004", quantity=1, country="DE", card="tok_permanent_error")
    tab.page.get_by_role("link", name="Operations").click()
    enter_operator_credential(tab, operator_credential)
    redrive = tab.page.locator("tr.attention button[data-redrive]:not([disabled])").first
    redrive.wait_for(timeout=SAGA_TIMEOUT_MS)
    dead_letter = redrive.get_attribute("data-redrive")
    tab.screenshot("dead-letter")

    redrive.click()

    tab.page.locator(".redrive-status", has_text=f"Redrive started: {dead_letter}").wait_for()
    tab.page.locator(f"tr:has(button[data-redrive='{dead_letter}'])").filter(
        has_text=re.compile("(running|completed), ")
    ).wait_for()
    logged = tab.page.locator("tr[data-action='redrive']", has_text=dead_letter or "")
    logged.first.locator(".operator-name", has_text=shop.operator.name).wait_for()
    tab.screenshot("redriven")


def test_the_analytics_dashboard_draws_its_charts(tab: Tab, operator_credential: str) -> None:
    tab.page.get_by_role("link", name="Analytics").click()
    tab.page.get_by_text("Enter your operator credential to see the dashboard").wait_for()
    enter_operator_credential(tab, operator_credential)
    charts = tab.page.locator("svg.chart")
    charts.first.wait_for()

    assert charts.count() == 2
    assert tab.page.locator("svg.chart polyline").count() >= 3
    tab.screenshot("analytics")


@pytest.mark.parametrize(
    "route",
    ["#/", "#/cart", "#/orders", "#/all-orders", "#/review", "#/operations", "#/analytics"],
)
def test_each_view_is_labelled_readable_and_fits_a_phone(
    tab: Tab, route: str, operator_credential: str
) -> None:
    tab.page.set_viewport_size({"width": 375, "height": 812})
    tab.page.evaluate("localStorage.setItem('shop.cart.v1', JSON.stringify({'MUG-001': 2}))")
    tab.page.evaluate(
        "credential => sessionStorage.setItem('shop.operatorCredential', credential)",
        operator_credential,
    )
    tab.page.goto(tab.page.url.split("#", 1)[0] + route)
    tab.page.reload()
    tab.page.locator("h1.view-heading").wait_for()
    tab.page.wait_for_load_state("networkidle")

    unlabelled = tab.page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea, button")]
            .filter((el) => !(el.labels?.length || el.getAttribute("aria-label")
                || el.textContent.trim()))
            .map((el) => el.outerHTML)"""
    )
    overflow = tab.page.evaluate("document.documentElement.scrollWidth")
    tab.page.locator("details").evaluate_all("all => all.forEach((d) => { d.open = true; })")
    low_contrast = tab.page.evaluate(LOW_CONTRAST_TEXT)

    assert unlabelled == []
    assert overflow <= 375
    assert low_contrast == []
    tab.screenshot("phone")


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def test_the_page_arrives_with_the_security_headers_and_cannot_be_framed(
    tab: Tab, browser: Any, site_url: str
) -> None:
    page = tab.page.goto(site_url).all_headers()
    assert {name: page.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert page["strict-transport-security"].startswith("max-age=")
    assert "includeSubDomains" in page["strict-transport-security"]
    directives = [d.strip() for d in page["content-security-policy"].split(";")]
    assert {"frame-ancestors 'none'", "script-src 'self'", "connect-src 'self'"} <= set(directives)
    tab.page.locator("li.product").first.wait_for()

    framing = browser.new_context().new_page()
    refusals: list[str] = []
    framing.on("console", lambda message: refusals.append(message.text))
    try:
        framing.set_content(f'<iframe src="{site_url}" title="shop"></iframe>')
        framing.wait_for_load_state("load")
        framed = framing.frames[1]
        assert framed.locator("li.product").count() == 0
        assert any("frame-ancestors 'none'" in text for text in refusals), refusals
    finally:
        framing.context.close()


def static_assets() -> list[str]:
    files = sorted(
        "/" + path.relative_to(FRONTEND).as_posix()
        for path in FRONTEND.rglob("*")
        if path.is_file() and "tests" not in path.relative_to(FRONTEND).parts
    )
    return ["/", *files]


def test_a_second_request_for_each_static_asset_is_an_edge_cache_hit(
    playwright: Any, site_url: str
) -> None:
    site = urlsplit(site_url)
    # Playwright's request API resolves names with the system resolver, where *.localhost
    # does not resolve: connect to the loopback address and name the site in Host.
    host = "127.0.0.1" if (site.hostname or "").endswith("localhost") else site.hostname
    port = f":{site.port}" if site.port else ""
    client = playwright.request.new_context(
        base_url=f"{site.scheme}://{host}{port}", extra_http_headers={"Host": site.netloc}
    )
    misses = {}
    try:
        for asset in static_assets():
            first = client.get(asset)
            assert first.ok, f"{asset}: {first.status}"
            cache = client.get(asset).headers.get("x-cache", "")
            if "hit" not in cache.lower():
                misses[asset] = cache or "(no X-Cache header)"
    finally:
        client.dispose()

    assert misses == {}
