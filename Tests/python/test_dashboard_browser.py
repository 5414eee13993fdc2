"""The admin dashboard at `/_/`, in a real browser (Debian's chromium driven by Playwright),
reached through a gateway in front of two clustered nodes.

A superuser is made with `stoa superuser upsert` in the first node's data folder before the
nodes start (it replicates to the second); a normal user's quotes are seeded through the
pocketbase SDK. In the browser: sign in, filter the quotes down to one, open it, edit its content
and tags, save — the edit shows on both nodes' API; delete it — gone on both nodes; a bad filter
shows the server's message by the search box; the cluster page shows both members alive and the
gateway's tables and live charts; sign out. Any page error, console error, failed request or
HTTP error (other than the deliberate bad filter's 400) fails the test. A second test checks the
quotes table at phone width (390 px): the page itself never scrolls sideways.

Screenshots go to .build/dashboard-shots/dashboard-*.png (STOA_DASHBOARD_SHOTS=docs refreshes the
README's). Needs STOA_BIN (the `stoa`
executable) and a chromium executable (CHROMIUM, default /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError

from test_account_mail import STOA_BIN, free_port, launch, stop_all, wait_for
from test_account_pages_browser import CHROMIUM, browser  # noqa: F401 (fixture)
SHOTS = Path(os.environ.get("STOA_DASHBOARD_SHOTS") or Path(__file__).resolve().parents[2] / ".build" / "dashboard-shots")

pytestmark = [
    pytest.mark.skipif(not STOA_BIN, reason="STOA_BIN is not set"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM}"),
]

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "dash-" + secrets.token_hex(8)
CLUSTER_KEY, TOKEN_SECRET = "dash-test-key", "dash-test-secret"
BAD_FILTER = 'nosuchfield = "x"'
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack():
    """Two clustered nodes (the superuser made in the first one's folder) and a gateway in front.
    Yields (node URLs, gateway URL)."""
    data = Path(tempfile.mkdtemp(prefix="stoa-dash-"))
    processes: list = []
    gossip = [free_port(), free_port()]
    try:
        made = subprocess.run(
            [STOA_BIN, "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD, "--data", str(data / "dash1"),
             "--name", "dash1", "--bcrypt-cost", "4"], capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stdout + made.stderr
        urls = []
        for index, name in enumerate(["dash1", "dash2"]):
            args = [STOA_BIN, "node", "--name", name, "--data", str(data / name), "--http", "127.0.0.1:0",
                    "--gossip", f"127.0.0.1:{gossip[index]}", "--cluster-key", CLUSTER_KEY,
                    "--token-secret", TOKEN_SECRET, "--bcrypt-cost", "4"]
            if index:
                args += ["--join", f"127.0.0.1:{gossip[0]}"]
            urls.append(launch(args, data / f"{name}.log", processes))
        gateway_log = data / "gateway.log"
        gateway = launch([STOA_BIN, "gateway", "--name", "dash-g1", "--http", "127.0.0.1:0", "--admin-http", "127.0.0.1:0",
                          "--join", f"127.0.0.1:{gossip[0]},127.0.0.1:{gossip[1]}", "--cluster-key", CLUSTER_KEY,
                          "--token-secret", TOKEN_SECRET], gateway_log, processes)
        # A second gateway: the cluster page shows every gateway's figures.
        launch([STOA_BIN, "gateway", "--name", "dash-g2", "--http", "127.0.0.1:0", "--admin-http", "127.0.0.1:0",
                "--join", f"127.0.0.1:{gossip[0]},127.0.0.1:{gossip[1]}", "--cluster-key", CLUSTER_KEY,
                "--token-secret", TOKEN_SECRET], data / "gateway2.log", processes)

        def both_alive():
            members = httpx.get(urls[0] + "/api/cluster", timeout=5).json().get("members", [])
            return any(m.get("name") == "dash2" and m.get("status") == "alive" for m in members)

        wait_for(both_alive, what="the two nodes to see each other")
        wait_for(lambda: superuser(urls[1], quiet=True), timeout=30, what="the superuser to replicate to node 2")

        def routing():   # the gateway knows both nodes (its admin listener's /api/gateway)
            found = re.search(r"Admin pages listening on 127\.0\.0\.1:(\d+)", gateway_log.read_text())
            if not found:
                return False
            nodes = httpx.get(f"http://127.0.0.1:{found.group(1)}/api/gateway", timeout=5).json().get("nodes", [])
            return sum(n.get("state") == "alive" and not n.get("ejected") for n in nodes) == 2

        wait_for(routing, timeout=30, what="the gateway to route to both nodes")
        yield urls, gateway
    finally:
        stop_all(processes)
        shutil.rmtree(data, ignore_errors=True)


def superuser(url: str, quiet: bool = False):
    """A pocketbase client on `url` signed in as the superuser (None when refused and `quiet`)."""
    pb = PocketBase(url, timeout=30)
    try:
        pb.collection("_superusers").auth_with_password(ADMIN_EMAIL, ADMIN_PASSWORD)
    except ClientResponseError:
        if quiet:
            return None
        raise
    return pb


def quote_on(pb: PocketBase, quote_id: str):
    try:
        return pb.collection("quotes").get_one(quote_id)
    except ClientResponseError as error:
        if error.status == 404:
            return None
        raise


@pytest.fixture(scope="module")
def seeded(stack):
    """A normal user with five quotes (one by Seneca with a unique word); returns (user id, marker, id)."""
    (url1, url2), _ = stack
    pb = PocketBase(url1, timeout=30)
    email, password = f"reader-{secrets.token_hex(4)}@example.com", "reader-" + secrets.token_hex(6)
    pb.collection("users").create({"email": email, "password": password, "passwordConfirm": password, "name": "Reader"})
    user = pb.collection("users").auth_with_password(email, password).record
    marker = "kairos" + secrets.token_hex(3)
    rows = [
        ("The happiness of your life depends upon the quality of your thoughts.", "Marcus Aurelius", "Meditations", ["stoic", "mind"]),
        ("We suffer more often in imagination than in reality.", "Seneca", "Letters", ["stoic", "fear"]),
        ("It is not what happens to you, but how you react to it that matters.", "Epictetus", "Enchiridion", ["stoic"]),
        (f"Luck is what happens when preparation meets opportunity ({marker}).", "Seneca", "Letters", ["luck", "stoic"]),
        ("Waste no more time arguing about what a good man should be. Be one.", "Marcus Aurelius", "Meditations", ["virtue"]),
    ]
    target = None
    for content, author, source, tags in rows:
        created = pb.collection("quotes").create({"content": content, "author": author, "source": source, "tags": tags, "userId": user.id})
        if marker in content:
            target = created.id
    admin2 = superuser(url2)
    wait_for(lambda: quote_on(admin2, target), what="the seeded quotes to replicate")
    return user.id, marker, target


class Watch:
    """Collects what must not happen on a page: page errors, console errors, failed requests and
    HTTP errors; the deliberate bad filter's 400 (and the console line about it) is allowed."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.on = True
        allowed = lambda url: "nosuchfield" in url   # noqa: E731
        page.on("pageerror", lambda error: self.add(f"page error: {error}"))
        page.on("console", lambda message: self.add(f"console {message.type}: {message.text} at {message.location}")
                if message.type == "error" and not allowed((message.location or {}).get("url", "")) else None)
        page.on("requestfailed", lambda request: self.add(f"request failed: {request.method} {request.url} {request.failure}"))
        page.on("response", lambda response: self.add(f"HTTP {response.status}: {response.request.method} {response.url}")
                if response.status >= 400 and not (response.status == 400 and allowed(response.url)) else None)

    def add(self, problem: str) -> None:
        if self.on:
            self.problems.append(problem)


def shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"dashboard-{name}.png"), full_page=full_page)


def wait_js(page, expression: str, timeout: float = 20.0) -> None:
    """Waits until `expression` is true in the page (polled from here: the dashboard's CSP
    forbids the eval Playwright's wait_for_function uses)."""
    wait_for(lambda: page.evaluate(expression), timeout=timeout, what=expression)


def ready_list(page, collection: str = "quotes") -> None:
    page.wait_for_selector(f'[data-testid=records][data-collection={collection}][data-state=ready]', timeout=20_000)


def sign_in(page, gateway: str) -> None:
    page.goto(gateway + "/_/")
    page.wait_for_selector("#login-form")
    assert page.evaluate("document.activeElement.id") == "login-email"
    page.fill("#login-email", ADMIN_EMAIL)
    page.fill("#login-password", ADMIN_PASSWORD)


def test_dashboard_through_the_gateway(stack, seeded, browser):
    (url1, url2), gateway = stack
    _, marker, target = seeded
    admins = [superuser(url1), superuser(url2)]
    page = browser.new_page(viewport=DESKTOP)
    watch = Watch(page)

    # Sign in (Enter submits the form); the quotes table is the landing page.
    sign_in(page, gateway)
    shot(page, "signin")
    page.press("#login-password", "Enter")
    ready_list(page)
    assert page.inner_text("#whoami") == ADMIN_EMAIL
    assert page.get_attribute("#nav-quotes", "aria-current") == "page"
    assert page.locator("#records-table tbody tr").count() == 5
    assert "5 quotes" in page.inner_text("#total-count") and page.inner_text("#page-info") == "Page 1 of 1"

    # Sorting by a column header toggles ascending/descending and shows an arrow.
    page.click("button[data-sort=author]")
    page.wait_for_selector("th[aria-sort=ascending] button[data-sort=author]")
    ready_list(page)
    assert page.inner_text("#records-table tbody tr:first-child td:nth-child(2)") == "Epictetus"
    page.click("button[data-sort=author]")
    page.wait_for_selector("th[aria-sort=descending] button[data-sort=author]")
    ready_list(page)
    assert page.inner_text("#records-table tbody tr:first-child td:nth-child(2)") == "Seneca"
    assert "▼" in page.inner_text("th[aria-sort=descending]")
    shot(page, "quotes")

    # A filter that finds one quote; open it.
    page.fill("#filter", f'author = "Seneca" && content ~ "{marker}"')
    page.press("#filter", "Enter")
    wait_js(page, "document.querySelectorAll('#records-table tbody tr[data-id]').length === 1")
    ready_list(page)
    assert "1 quote match" in page.inner_text("#total-count")
    page.click(f"#records-table tr[data-id='{target}'] a.record-link")
    page.wait_for_selector("#record-form[data-state=ready]")
    assert page.url.endswith(f"#/records/quotes/{target}")
    assert page.get_attribute("#field-userId", "readonly") is not None

    # Edit content and tags (remove "luck" with its × button, add two by Enter and comma); save.
    new_content = f"Luck is where preparation meets opportunity ({marker}, edited in the dashboard)."
    page.fill("#field-content", new_content)
    page.click("button[aria-label='Remove tag luck']")
    page.fill("#field-tags", "fortune")
    page.press("#field-tags", "Enter")
    page.locator("#field-tags").press_sequentially("dashboard,oops")
    page.press("#field-tags", "Enter")
    page.press("#field-tags", "Backspace")   # removes the last chip ("oops")
    assert page.eval_on_selector_all("[data-testid=tags-editor] .tag", "els => els.map(e => e.dataset.tag)") == \
        ["stoic", "fortune", "dashboard"]
    shot(page, "record", full_page=True)
    page.click("#save")
    page.wait_for_selector("#form-status.ok", timeout=20_000)

    def edited_everywhere():
        records = [quote_on(pb, target) for pb in admins]
        return all(r is not None and r.content == new_content and r.tags == ["stoic", "fortune", "dashboard"] for r in records)

    wait_for(edited_everywhere, timeout=20, what="the edit on both nodes")

    # Delete it (the dialog: Escape cancels, the button confirms); back on the filtered list.
    page.click("#delete")
    page.wait_for_selector("#confirm-dialog[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#confirm-dialog[open]", state="detached")
    assert page.url.endswith(f"#/records/quotes/{target}"), "Escape closes the dialog only"
    page.click("#delete")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-ok")
    wait_js(page, "location.hash.startsWith('#/collections/quotes?filter=')")
    ready_list(page)
    assert page.locator("#records-table tbody tr[data-id]").count() == 0
    wait_for(lambda: all(quote_on(pb, target) is None for pb in admins), timeout=20, what="the delete on both nodes")

    # A bad filter: the server's message by the search box.
    page.fill("#filter", BAD_FILTER)
    page.click("#apply-filter")
    page.wait_for_selector("#filter-error:not(:empty)")
    assert "Invalid filter" in page.inner_text("#filter-error")
    assert page.get_attribute("#filter", "aria-invalid") == "true"
    page.click("#clear-filter")
    ready_list(page)
    assert page.locator("#records-table tbody tr[data-id]").count() == 4
    assert page.inner_text("#filter-error") == ""

    # Users: the user's "quotes" link opens the quotes filtered by owner.
    page.click("#nav-users")
    ready_list(page, "users")
    page.click("[data-testid=user-quotes]")
    ready_list(page)
    assert "userId" in page.input_value("#filter") and "4 quotes match" in page.inner_text("#total-count")

    # The cluster page: both members alive, the gateway's tables and live charts (some traffic
    # through the gateway meanwhile, so the request chart has something to draw).
    stop = threading.Event()

    def traffic():
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                client.get(gateway + "/api/health")
                stop.wait(0.05)

    feeder = threading.Thread(target=traffic)
    feeder.start()
    try:
        page.click("#nav-cluster")
        for name in ["dash1", "dash2"]:
            page.wait_for_selector(f"#members-table tr[data-member={name}][data-status=alive]", timeout=20_000)
        assert page.locator("#members-table tbody tr[data-role=node]").count() == 2
        # Every gateway in the membership, with its own figures (asked by the node for the page).
        for name in ["dash-g1", "dash-g2"]:
            page.wait_for_selector(f"#members-table tr[data-member={name}][data-role=gateway] [data-gateway-figures={name}]", timeout=20_000)
            wait_js(page, f"document.querySelector('[data-gateway-figures={name}]').textContent.includes('routes 2/2 nodes')", timeout=20)
        page.wait_for_selector("#digests-agree.equal", timeout=20_000)
        assert page.locator("#gateway-nodes tbody tr").count() == 2
        assert page.is_visible("#gateway-limits") and page.is_visible("#gateway-cache")
        for chart in ["chart-rps", "chart-p99", "chart-rejections"]:
            wait_js(page, f"Number(document.getElementById('{chart}').dataset.points) >= 4", timeout=30)
        assert float(page.inner_text("#chart-rps .now")) > 0
    finally:
        stop.set()
        feeder.join()
    shot(page, "cluster", full_page=True)

    # Phone width: the quotes page.
    page.set_viewport_size(PHONE)
    page.click("#nav-quotes")
    ready_list(page)
    shot(page, "phone")
    page.set_viewport_size(DESKTOP)

    # Sign out: back to sign-in, the token gone.
    page.click("#sign-out")
    page.wait_for_selector("#login-form")
    assert "signed out" in page.inner_text("#login-message")
    assert page.evaluate("localStorage.getItem('stoa.admin.auth')") is None
    assert not page.is_visible("#topbar")
    watch.on = False
    page.close()
    assert watch.problems == [], watch.problems


def test_quotes_table_at_phone_width(stack, seeded, browser):
    """At 390 px the page never scrolls sideways (the table scrolls inside its box), the
    navigation and sign-out stay on screen, and a record opens. The session is a superuser token
    from the SDK, put where the app keeps it (no sign-in: the gateway limits those per address)."""
    (url1, _), gateway = stack
    admin = superuser(url1)
    record = {"id": admin.auth_store.model.id, "email": ADMIN_EMAIL, "collectionName": "_superusers"}
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    watch = Watch(page)
    saved = json.dumps({"token": admin.auth_store.token, "record": record})
    page.add_init_script(f"localStorage.setItem('stoa.admin.auth', {json.dumps(saved)})")
    page.goto(gateway + "/_/#/collections/quotes")
    ready_list(page)
    assert page.locator("#records-table tbody tr[data-id]").count() >= 1
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[1], f"the page scrolls sideways: {widths}"
    for selector in ["#nav-quotes", "#nav-users", "#nav-cluster", "#sign-out", "#filter", "#apply-filter", "#next-page"]:
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (selector, box)
    page.locator("#records-table a.record-link").first.click()
    page.wait_for_selector("#record-form[data-state=ready]")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the record page scrolls sideways: {widths}"
    watch.on = False
    page.close()
    assert watch.problems == [], watch.problems
