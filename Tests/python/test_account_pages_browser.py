"""The page account-mail links open, in a real browser (Debian's chromium driven by Playwright):
a password reset requested on one node, its link opened on the other, the form filled in and
sent; then the new password signs in on both nodes. A link with a bad token shows PocketBase's
field error on the page; a verification link confirms on opening.

Uses the two-node cluster and the SMTP server of test_account_mail.py. Needs a chromium
executable (CHROMIUM, default /usr/bin/chromium; scripts/test.sh installs Debian's package).
"""

from __future__ import annotations

import os
import shutil

import pytest
from pocketbase import PocketBase

from test_account_mail import STOA_BIN, can_login, cluster, link_token, new_user, wait_for  # noqa: F401 (fixture)

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.skipif(not STOA_BIN, reason="STOA_BIN is not set"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def status_text(page, kind: str, timeout_ms: int = 20_000) -> str:
    """Waits until the page's status line has class `kind` ("done" or "error"); returns its text."""
    page.wait_for_selector(f"#status.{kind}", timeout=timeout_ms)
    return page.inner_text("#status")


def test_reset_link_opened_in_a_browser_on_the_other_node(cluster, browser):
    mailbox, (url1, url2), _ = cluster
    pb1, pb2 = PocketBase(url1, timeout=30), PocketBase(url2, timeout=30)
    address = new_user(pb1, pb2, "browser old 1")
    assert pb1.collection("users").request_password_reset(address) is True
    link, token = link_token(mailbox.next_to(address), "confirm-password-reset")
    assert link.startswith(url1)

    page = browser.new_page(viewport={"width": 390, "height": 800})   # phone width
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    # The link's page on the other node (every node serves it; the token works on any).
    page.goto(link.replace(url1, url2) + "#token=" + token)
    assert page.inner_text("#title") == "Set a new password"
    assert page.is_visible("#password") and page.is_visible("#passwordConfirm")
    assert not page.is_visible("#currentPassword")

    # Mismatched passwords: PocketBase's field error, shown on the page; nothing changes.
    page.fill("#password", "browser new 1")
    page.fill("#passwordConfirm", "browser other 1")
    page.click("#submit")
    assert "passwordConfirm" in status_text(page, "error")
    assert can_login(url2, address, "browser old 1")

    page.fill("#passwordConfirm", "browser new 1")
    page.press("#passwordConfirm", "Enter")   # the keyboard submits the form
    assert "Your password has been changed" in status_text(page, "done")
    assert not page.is_visible("#form")
    assert can_login(url2, address, "browser new 1")
    wait_for(lambda: can_login(url1, address, "browser new 1"), what="the new password on node 1")
    assert not can_login(url1, address, "browser old 1")

    # The same link again: the token was single-use.
    page.goto("about:blank")
    page.goto(link.replace(url1, url2) + "#token=" + token)
    page.fill("#password", "browser third 1")
    page.fill("#passwordConfirm", "browser third 1")
    page.click("#submit")
    assert "token" in status_text(page, "error")
    assert can_login(url2, address, "browser new 1")
    assert errors == [] or all("400" in e for e in errors), errors   # only the refused POSTs
    page.close()


def test_links_without_or_with_a_forged_token_say_so(cluster, browser):
    _, (url1, _), _ = cluster
    page = browser.new_page()
    page.goto(url1 + "/auth/confirm-password-reset")
    assert "no token" in status_text(page, "error")
    assert not page.is_visible("#form")
    page.goto("about:blank")
    page.goto(url1 + "/auth/confirm-password-reset#token=not.a.token")
    page.fill("#password", "forged pass 1")
    page.fill("#passwordConfirm", "forged pass 1")
    page.click("#submit")
    assert "token" in status_text(page, "error")
    page.close()


def test_verification_link_confirms_on_opening(cluster, browser):
    mailbox, (url1, url2), _ = cluster
    pb1, pb2 = PocketBase(url1, timeout=30), PocketBase(url2, timeout=30)
    address = new_user(pb1, pb2, "browser verify 1")
    assert pb1.collection("users").request_verification(address) is True
    link, token = link_token(mailbox.next_to(address), "confirm-verification")
    page = browser.new_page()
    page.goto(link + "#token=" + token)
    assert page.inner_text("#title") == "Verify your email"
    assert "verified" in status_text(page, "done")
    assert not page.is_visible("#form")
    wait_for(lambda: pb2.collection("users").auth_with_password(address, "browser verify 1").record.verified,
             what="verified on node 2")
    page.close()


GATEWAY_URL = os.environ.get("STOA_GATEWAY_URL", "").rstrip("/")


@pytest.mark.skipif(not GATEWAY_URL, reason="STOA_GATEWAY_URL is not set")
def test_the_gateway_serves_the_account_pages(browser):
    """Links built with --public-url at the gateway: the gateway forwards the pages and their
    script (and nothing else under /auth/); the page runs (a link without a token says so)."""
    import httpx

    for page in ["confirm-password-reset", "confirm-verification", "confirm-email-change"]:
        response = httpx.get(f"{GATEWAY_URL}/auth/{page}", timeout=10)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"], page
    assert httpx.get(f"{GATEWAY_URL}/auth/account.js", timeout=10).status_code == 200
    assert httpx.get(f"{GATEWAY_URL}/auth/other", timeout=10).status_code == 404
    tab = browser.new_page()
    tab.goto(f"{GATEWAY_URL}/auth/confirm-password-reset")
    assert "no token" in status_text(tab, "error")
    tab.close()
