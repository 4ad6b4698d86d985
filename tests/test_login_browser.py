"""The login and first-run setup pages in Debian's Chromium, against a real server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Error, Locator, Page, async_playwright

from tests.conftest import PASSWORD, demo_config

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PHONE = {"width": 390, "height": 844}
GOOD_PASSWORD = "amber-lantern-orbit-47"
TIMEOUT_MS = 15_000

# Init scripts run before the page's own and are not subject to its CSP: they may listen.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


class Watched:
    """A page with its page errors and CSP reports collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.csp_console: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_console.append(message.text)

    async def check_clean(self) -> None:
        """No CSP violation on the current document, and no page error so far."""
        violations = await self.page.evaluate("window.__csp")
        assert violations == [], violations
        assert self.csp_console == []
        assert self.errors == []


async def new_page(browser: Browser) -> tuple[BrowserContext, Watched]:
    context = await browser.new_context(viewport=PHONE)
    await context.add_init_script(CSP_LISTENER)
    return context, Watched(await context.new_page())


async def wait_js(page: Page, expression: str, timeout: float = 20.0) -> Any:
    """Poll a page expression until truthy (wait_for_function would need eval, which the
    CSP forbids). A navigation in between only means: try again."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            value = await page.evaluate(expression)
        except Error:
            value = None  # execution context destroyed by a navigation
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {expression}"
        await asyncio.sleep(0.05)


async def wait_text(locator: Locator, needle: str, timeout: float = 10.0) -> str:
    """Wait until a visible element's text contains needle (case-insensitive)."""
    await locator.wait_for(state="visible", timeout=timeout * 1000)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = await locator.inner_text()
        if needle.lower() in text.lower():
            return text
        assert asyncio.get_running_loop().time() < deadline, f"{needle!r} not in {text!r}"
        await asyncio.sleep(0.05)


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def fill_setup(page: Page, code: str, username: str, password: str) -> None:
    await page.get_by_test_id("setup-code").fill(code)
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("password2").fill(password)
    await page.get_by_test_id("submit").click()


async def log_in(page: Page, username: str, password: str) -> None:
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("submit").click()


async def test_first_run_setup(start_server, browser):
    server = await start_server(demo_config(), admin=False)
    code = server.services.setup_code
    assert code
    await server.wait_online("demo")
    context, watched = await new_page(browser)
    page = watched.page

    await page.goto(server.base_url + "/")
    assert path_of(page) == "/setup"
    await page.get_by_test_id("setup-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await page.get_by_test_id("setup-code").is_visible()
    assert await page.get_by_test_id("password2").is_visible()
    assert "journalctl -u sentrycam" in await page.get_by_test_id("setup-form").inner_text()
    autocomplete = await page.get_by_test_id("password").get_attribute("autocomplete")
    assert autocomplete == "new-password"
    error = page.get_by_test_id("login-error")
    assert await error.is_hidden()

    # The two passwords must match (checked here, before anything is sent).
    await page.get_by_test_id("setup-code").fill(code)
    await page.get_by_test_id("username").fill("owner")
    await page.get_by_test_id("password").fill(GOOD_PASSWORD)
    await page.get_by_test_id("password2").fill(GOOD_PASSWORD + "x")
    await page.get_by_test_id("submit").click()
    await wait_text(error, "do not match")

    wrong = "ABCD-EFGH-JKLM" if code != "ABCD-EFGH-JKLM" else "ABCD-EFGH-JKLN"
    await fill_setup(page, wrong, "owner", GOOD_PASSWORD)
    await wait_text(error, "wrong setup code")

    await fill_setup(page, code, "owner", "short1")
    await wait_text(error, "at least 10 characters")
    await fill_setup(page, code, "owner", "owner-is-my-password")
    await wait_text(error, "must not contain the user name")
    assert server.services.setup_code == code  # nothing was created
    await watched.check_clean()

    await fill_setup(page, code.lower(), "owner", GOOD_PASSWORD)
    await page.wait_for_url(server.base_url + "/", timeout=TIMEOUT_MS)
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")
    await wait_text(page.get_by_test_id("user-name"), "owner")
    await watched.check_clean()

    anonymous = server.anonymous()
    assert (await anonymous.get("/api/auth/setup")).json() == {"needed": False}
    redirect = await anonymous.get("/setup")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login"
    await page.goto(server.base_url + "/setup")
    assert path_of(page) == "/login"
    await page.get_by_test_id("login-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await page.get_by_test_id("setup-code").is_hidden()
    await context.close()


async def test_login_and_logout(start_server, browser):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    context, watched = await new_page(browser)
    page = watched.page

    await page.goto(server.base_url + "/#/camera/demo")
    assert path_of(page) == "/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/"]
    form = page.get_by_test_id("login-form")
    await form.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await page.get_by_test_id("setup-code").is_hidden()
    assert await page.get_by_test_id("password2").is_hidden()
    autocomplete = await page.get_by_test_id("password").get_attribute("autocomplete")
    assert autocomplete == "current-password"

    await log_in(page, "admin", "not-the-password")
    error = page.get_by_test_id("login-error")
    await wait_text(error, "wrong user name or password")
    await watched.check_clean()

    await log_in(page, "admin", PASSWORD)
    # The server's redirect drops the fragment from ?next=, the page restores it; a plain
    # "/" is fine too.
    await page.wait_for_url(re.compile(re.escape(server.base_url) + r"/(#/camera/demo)?$"))
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")
    await wait_text(page.get_by_test_id("user-name"), "admin")
    await watched.check_clean()

    if urlsplit(page.url).fragment:  # the full view covers the header: back to the grid
        await page.keyboard.press("Escape")
        await wait_js(page, "!document.body.classList.contains('is-full-view')")
    await page.get_by_test_id("user-menu").click()
    await page.get_by_test_id("logout").click()
    await page.wait_for_url(re.compile(re.escape(server.base_url) + r"/login"))
    await page.get_by_test_id("login-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    cookies = await context.cookies(server.base_url)
    assert not [c for c in cookies if c["name"] == "sentrycam_session"]
    await page.goto(server.base_url + "/")
    assert path_of(page) == "/login"
    await watched.check_clean()
    await context.close()


async def test_no_open_redirect(start_server, browser):
    server = await start_server(demo_config())
    context, watched = await new_page(browser)
    page = watched.page
    await page.goto(server.base_url + "/login?next=https%3A%2F%2Fevil.example%2F")
    await page.get_by_test_id("login-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    cases = {
        "/": "/",
        "/?measure=1#/camera/demo": "/?measure=1#/camera/demo",
        "https://evil.example/": "/",
        "//evil.example/": "/",
        "/\\evil.example/": "/",
        "/\t/evil.example/": "/",
        "javascript:alert(1)": "/",
        "/login": "/",
        "": "/",
    }
    results = await page.evaluate(
        "async (cases) => { const m = await import('/login.js');"
        " return cases.map((c) => m.safeNext(c)); }",
        list(cases),
    )
    assert dict(zip(cases, results, strict=True)) == cases
    await log_in(page, "admin", PASSWORD)
    await page.wait_for_url(server.base_url + "/", timeout=TIMEOUT_MS)
    await watched.check_clean()
    await context.close()


async def test_csp_clean_and_change_password(start_server, browser):
    server = await start_server(demo_config())
    await server.wait_online("demo")
    context, watched = await new_page(browser)
    page = watched.page

    await page.goto(server.base_url + "/login")
    await page.get_by_test_id("login-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    await watched.check_clean()
    await log_in(page, "admin", PASSWORD)
    await page.wait_for_url(server.base_url + "/", timeout=TIMEOUT_MS)
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")

    await page.get_by_test_id("user-menu").click()
    await page.get_by_test_id("change-password-open").click()
    dialog = page.get_by_test_id("change-password")
    await dialog.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await dialog.evaluate("d => d.open && d.matches(':modal')")
    error = page.get_by_test_id("change-password-error")

    await page.get_by_test_id("current-password").fill("not-the-password")
    await page.get_by_test_id("new-password").fill(GOOD_PASSWORD)
    await page.get_by_test_id("new-password2").fill(GOOD_PASSWORD)
    await page.get_by_test_id("change-password-submit").click()
    await wait_text(error, "current password is wrong")

    await page.get_by_test_id("current-password").fill(PASSWORD)
    await page.get_by_test_id("new-password").fill("admin-secret-1")
    await page.get_by_test_id("new-password2").fill("admin-secret-1")
    await page.get_by_test_id("change-password-submit").click()
    await wait_text(error, "must not contain the user name")

    await page.get_by_test_id("new-password").fill(GOOD_PASSWORD)
    await page.get_by_test_id("new-password2").fill(GOOD_PASSWORD)
    await page.get_by_test_id("change-password-submit").click()
    await wait_text(page.get_by_test_id("change-password-done"), "password changed")
    await page.get_by_test_id("change-password-cancel").click()
    await dialog.wait_for(state="hidden", timeout=TIMEOUT_MS)

    # This browser's session was renewed; the new password works, the old one does not.
    me = await page.evaluate("fetch('/api/auth/me').then((r) => r.status)")
    assert me == 200
    anonymous = server.anonymous(headers={"Origin": server.base_url})
    old = {"username": "admin", "password": PASSWORD}
    assert (await anonymous.post("/api/auth/login", json=old)).status_code == 401
    new = {"username": "admin", "password": GOOD_PASSWORD}
    assert (await anonymous.post("/api/auth/login", json=new)).status_code == 200
    await wait_js(page, "window.sentrycam?.state?.demo === 'live'")
    await watched.check_clean()

    # The setup page (a fresh server without users) is clean too.
    fresh = await start_server(demo_config(), admin=False)
    await page.goto(fresh.base_url + "/setup")
    await page.get_by_test_id("setup-form").wait_for(state="visible", timeout=TIMEOUT_MS)
    await watched.check_clean()
    await context.close()
