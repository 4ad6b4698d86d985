"""Shared pieces of the Chromium tests: launch flags, a session cookie, CSP-safe waiting."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, BrowserContext, Error, Page

from tests.waiting import wait_until

# Debian's Chromium, headless, loopback WebRTC (docs/media-notes.md), no phoning home.
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
    # A synthetic microphone (a beep) for talk-back; contexts grant it with permissions=.
    "--use-fake-device-for-media-stream",
]
PHONE = {"width": 390, "height": 844}

# Init scripts run before the page's own and are not subject to its CSP: they may listen.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


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


async def wait_js(page: Page, expression: str, timeout: float = 20.0) -> Any:
    """Poll a page expression until truthy (wait_for_function would need eval, which the
    CSP forbids). A navigation in between only means: try again."""

    async def value() -> Any:
        try:
            return await page.evaluate(expression)
        except Error:
            return None  # execution context destroyed by a navigation

    # On a timeout, where the page was: a redirect (to /login, say) explains most of them.
    return await wait_until(
        value, timeout, lambda: f"{expression} (page at {page.url})", interval=0.05
    )


async def logged_in_context(
    server: Any, browser: Browser, name: str = "admin", **kw: Any
) -> BrowserContext:
    """A browser context holding a real session of ``name`` (logged in through the API)."""
    client = await server.browser_login(name)
    context = await browser.new_context(**kw)
    await context.add_init_script(CSP_LISTENER)
    await context.add_cookies(
        [
            {
                "name": "sentrycam_session",
                "value": client.cookies["sentrycam_session"],
                "url": server.base_url,
            }
        ]
    )
    return context
