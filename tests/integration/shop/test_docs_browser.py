"""Swagger UI and ReDoc work in a real browser with no network but the service: Debian's headless Chromium, driven
by Playwright (``executable_path``: no browser is downloaded), against the reference service under uvicorn.

Every request the pages make is recorded and must go to the service itself; the service's CSP must not block
anything (a CSP violation is logged to the console). Swagger UI is authorised with a real access token (sign-up
and login through the API) and "Try it out" on an authenticated operation must get a 200.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Headless, and nothing that phones home: the page's own requests are the only traffic.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
#: Hard-coded in ReDoc's "API docs by Redocly" link; ReDoc removes the image when it does not load.
REDOC_ATTRIBUTION_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
expect.set_options(timeout=TIMEOUT_MS)  # ReDoc renders a large document: seconds on a loaded machine


class ReferenceServer(Protocol):
    """The ``reference_server`` fixture's value (tests/integration/shop/conftest.py)."""

    base: str
    token: str


@dataclass
class Browsing:
    """A page, every URL it requested and every error it logged to the console."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def browser(tmp_path: Path, reference_server: ReferenceServer) -> Iterator[Browsing]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium is not installed ({CHROMIUM}): apt-get install chromium (.ci/run does)")

    def only_the_service(route: Route) -> None:
        """The pages must not need anything else, and the test must not reach out."""
        if route.request.url.startswith(reference_server.base):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            timeout=TIMEOUT_MS,
        )
        try:
            browsing = Browsing(context.new_page())
            browsing.page.set_default_timeout(TIMEOUT_MS)
            browsing.page.route("**/*", only_the_service)
            browsing.page.on("request", lambda request: browsing.requests.append(request.url))
            browsing.page.on(
                "console", lambda message: message.type == "error" and browsing.console_errors.append(message.text)
            )
            yield browsing
        finally:
            context.close()


def assert_offline_and_clean(browsing: Browsing, base: str, *, refused_by_csp: frozenset[str] = frozenset()) -> None:
    """Nothing was asked outside the service, except what the service's CSP refused (and the page copes without)."""
    outside = {url for url in browsing.requests if not url.startswith(base)}
    assert outside <= refused_by_csp, f"the page asked for something outside the service: {outside}"
    for url in outside:
        assert any(url in error and "Content Security Policy" in error for error in browsing.console_errors)
    unexpected = [error for error in browsing.console_errors if not any(url in error for url in outside)]
    assert not unexpected, unexpected


def test_swagger_ui_shows_the_operations_and_tries_one_out_with_a_real_token(
    browser: Browsing, reference_server: ReferenceServer
) -> None:
    page, base = browser.page, reference_server.base
    page.goto(f"{base}/api/v2/docs")
    me = page.locator(".opblock-get", has=page.locator("[data-path='/auth/me']"))
    expect(me).to_be_visible()
    expect(page.locator(".opblock")).not_to_have_count(0)
    expect(page.locator(".opblock-post [data-path='/products']")).to_be_visible()

    page.locator("button.authorize").first.click()
    bearer = page.locator(".auth-container", has_text="bearerAuth")
    bearer.locator("input").fill(reference_server.token)
    bearer.locator("button.authorize").click()
    expect(bearer).to_contain_text("Authorized")
    bearer.locator("button.btn-done").click()

    me.locator(".opblock-summary").click()
    me.locator("button.try-out__btn").click()
    with page.expect_response(lambda response: response.url == f"{base}/api/v2/auth/me") as answer:
        me.locator("button.execute").click()
    assert answer.value.status == 200
    assert answer.value.request.headers["authorization"] == f"Bearer {reference_server.token}"
    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    assert_offline_and_clean(browser, base)


def test_redoc_shows_the_operations(browser: Browsing, reference_server: ReferenceServer) -> None:
    page, base = browser.page, reference_server.base
    page.goto(f"{base}/api/v2/redoc")
    expect(page.locator("h2", has_text="Create a product")).to_be_visible()
    expect(page.locator("h2", has_text="The calling user")).to_be_attached()
    expect(page.get_by_text("bearerAuth").first).to_be_attached()
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)  # refused, and ReDoc drops the image
    assert_offline_and_clean(browser, base, refused_by_csp=frozenset({REDOC_ATTRIBUTION_LOGO}))
