"""The login and first-run setup pages in Debian's Chromium, against a real server."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page

from tests.browser import CSP_LISTENER, PHONE, Watched, wait_js
from tests.conftest import PASSWORD, demo_config
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

GOOD_PASSWORD = "amber-lantern-orbit-47"
TIMEOUT_MS = 15_000


async def new_page(browser: Browser) -> tuple[BrowserContext, Watched]:
    context = await browser.new_context(viewport=PHONE)
    await context.add_init_script(CSP_LISTENER)
    return context, Watched(await context.new_page())


async def wait_text(locator: Locator, needle: str, timeout: float = 10.0) -> str:
    """Wait until a visible element's text contains needle (case-insensitive)."""
    await locator.wait_for(state="visible", timeout=timeout * 1000)
    text = ""

    async def contains() -> bool:
        nonlocal text
        text = await locator.inner_text()
        return needle.lower() in text.lower()

    await wait_until(contains, timeout, lambda: f"{needle!r} in {text!r}", interval=0.05)
    return text


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
