"""The demo chat page in a real browser: chromium (Debian's, driven by Playwright) running the
page's esbuild bundle of the official Convex client (npm `convex`) against daphne serving
demo_project, with the scheduler's worker.

Two users, two browser contexts: what one does shows up on the other's page without a reload or
any polling, so it went through the client's WebSocket and reactive's sync engine. One server for
the module, on a database of its own, migrated and seeded like `python3 dev.py demo` does,
dropped afterwards. Screenshots go to tests/artifacts/screenshots/. Needs `npm ci` in
demo_project/web and /usr/bin/chromium (`python3 dev.py test` sees to both); the bundle is built
here (esbuild takes well under a second).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt as pyjwt
import psycopg
import pytest
import requests
from playwright.sync_api import Browser, Page, Request, WebSocketRoute, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent.parent
WEB = ROOT / "demo_project" / "web"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 5000  # for anything the page shows
DESKTOP = {"width": 1100, "height": 700}
PAGE_SIZE = 20  # demo_project/web/src/messages.js
# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e226059b0000000049454e44ae426082"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tests_database_url() -> str:
    """The tests' Postgres: DATABASE_URL, which loading tests.settings sets when it is unset."""
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - load the settings
    return os.environ["DATABASE_URL"]


def _build_bundle() -> None:
    npm = shutil.which("npm")
    assert npm and (WEB / "node_modules" / ".bin" / "esbuild").exists(), (
        "run `npm ci` in demo_project/web (`python3 dev.py test` does)"
    )
    done = subprocess.run(
        [npm, "run", "--silent", "build"], cwd=WEB, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"npm run build failed:\n{done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """daphne serving demo_project.asgi on a fresh, migrated and seeded database; its URL."""
    _build_bundle()
    tmp_path = tmp_path_factory.mktemp("demo")
    name = f"test_demo_browser_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = _tests_database_url()
    db_url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))  # same server, own database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="demo_project.settings",
        DATABASE_URL=db_url,
        DEMO_MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "daphne.log"
    proc = worker = None
    try:
        # seed_demo twice (in one process, to start Django once): the second run finds
        # everything there and adds nothing
        twice = "from django.core.management import call_command as c; c('seed_demo'); "
        twice += "print('--- again'); c('seed_demo')"
        outputs = []
        for command in (["migrate", "--no-input"], ["shell", "-c", twice]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stderr}"
            outputs.append(done.stdout)
        first, again = outputs[1].split("--- again")
        assert "superuser 'admin' (created)" in first, first
        assert "messages: 0 added" in again and "(created)" not in again, again
        assert "/admin/: user 'admin', password 'admin'" in again, again
        port = _free_port()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
                # as dev.py: daphne's WebSocket limits must not undercut reactive's
                + ["--websocket-max-message-size", str(17 * 1024 * 1024)]
                + ["--websocket-max-frame-size", str(17 * 1024 * 1024)]
                + ["demo_project.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # The scheduler's worker, as `dev.py demo` runs it ("/later" messages, the bot).
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "reactive", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"daphne exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"daphne did not start:\n{log_path.read_text()}"
            try:
                requests.get(url + "/login/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=40)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_tail = log_path.read_text(errors="replace")[-4000:]
            print(f"--- daphne log ({log_path}), shown when a test fails ---\n{log_tail}")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Pages:
    """The module's browser and the pages opened in it, each in a context of its own."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.problems: list[str] = []  # uncaught exceptions, and any use of the HTTP API
        self.sent: dict[str, list[str | bytes]] = {}  # WebSocket frames each page sent

    def open(self, who: str, viewport: dict[str, int] = DESKTOP) -> Page:
        page = self.browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda e: self.problems.append(f"{who}: {e}"))
        page.on("request", self._watch_http)
        frames = self.sent.setdefault(who, [])
        page.on("websocket", lambda ws: ws.on("framesent", lambda f: frames.append(f)))
        return page

    def _watch_http(self, request: Request) -> None:
        # the page polled, or fell back to HTTP (buying a token and uploading are the HTTP calls)
        if "/api/" in request.url and not any(
            p in request.url for p in ("/api/auth/token", "/api/storage/")
        ):
            self.problems.append(f"HTTP {request.method} {request.url}")

    def logged_in(
        self, username: str, password: str = "demo", page: Page | None = None, **kw: Any
    ) -> Page:
        page = page or self.open(username, **kw)
        page.goto(self.url + "/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        _wait_ready(page, username)
        return page


def _wait_ready(page: Page, username: str) -> None:
    expect(page.locator(".who b")).to_have_text(username)
    # The badge turns "live" when the client's WebSocket is open.
    expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
    # The page called setAuth with a token bought by its session: the server accepted it (the
    # client's onChange(true) fires on the Transition that confirms the Authenticate).
    expect(page.locator("body")).to_have_attribute("data-socket-auth", "token", timeout=WAIT_MS)


@pytest.fixture(scope="module")
def pages(demo_server: str) -> Iterator[Pages]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield Pages(browser, demo_server)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def alice(pages: Pages) -> Page:
    return pages.logged_in("alice")


@pytest.fixture(scope="module")
def bob(pages: Pages) -> Page:
    return pages.logged_in("bob")


def _send(page: Page, body: str) -> None:
    page.fill("#send input[name=body]", body)
    page.press("#send input[name=body]", "Enter")


def _messages(page: Page) -> Any:
    return page.locator("#messages li.message")


def _http_user(url: str, username: str) -> tuple[requests.Session, str]:
    """A session logged in through Django's login form, and the token /api/auth/token gives."""
    s = requests.Session()
    s.get(url + "/login/", timeout=5)
    s.post(
        url + "/login/",
        data={
            "username": username,
            "password": "demo",
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": url + "/login/"},
        timeout=5,
    )
    response = s.get(url + "/api/auth/token", timeout=5)
    assert response.status_code == 200, response.text
    return s, response.json()["token"]


def _mutation(url: str, path: str, args: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"path": path, "args": args, "format": "json"}
    return requests.post(url + "/api/mutation", json=body, headers=headers, timeout=5).json()


def _channel(page: Page, name: str) -> None:
    """Create channel `name` from this page (which then shows it)."""
    page.fill("#new-channel input[name=name]", name)
    page.press("#new-channel input[name=name]", "Enter")
    expect(page.locator("#channel-name")).to_have_text(f"# {name}")


def _open_channel(page: Page, name: str) -> None:
    page.click(f"#channels button[data-channel='{name}']")
    expect(page.locator("#channel-name")).to_have_text(f"# {name}")


def test_two_users_live_unread_and_remembered_channel(pages: Pages, alice: Page, bob: Page) -> None:
    for user in ("alice", "bob"):  # each socket sent its user's token
        tokens = [
            json.loads(f)["value"]
            for f in pages.sent[user]
            if isinstance(f, str) and json.loads(f).get("type") == "Authenticate"
        ]
        assert tokens, f"{user}'s page sent no Authenticate"
        claims = pyjwt.decode(tokens[0], options={"verify_signature": False})
        assert claims["preferred_username"] == user, claims
    # Both land on #general (not the first channel by name), newest message at the bottom.
    for page in (alice, bob):
        expect(page.locator("#channel-name")).to_have_text("# general")
        expect(_messages(page).first).to_contain_text("Open a second window and post.")
        page.evaluate("window.notReloaded = true")

    tag = uuid.uuid4().hex[:6]
    _send(alice, f"Hello Bob, live from the browser ({tag})")
    expect(alice.locator("#send input[name=body]")).to_have_value("")
    expect(_messages(bob).first).to_contain_text(f"Hello Bob, live from the browser ({tag})")

    # bob's new channel appears in alice's list; his message there is unread for her.
    _channel(bob, f"bob-{tag}")
    expect(bob.locator("#messages")).to_have_text("No messages yet.")
    badge = alice.locator(f"#channels button[data-channel='bob-{tag}'] .unread")
    expect(alice.locator("#channels")).to_contain_text(f"# bob-{tag}")
    expect(badge).to_have_count(0)
    _send(bob, "First!")
    _send(bob, "Second!")
    expect(badge).to_have_text("2")
    expect(alice.locator("#channel-name")).to_have_text("# general")  # alice stays put
    # ... until she opens it: then it is read (for her only; the count is per user)
    _open_channel(alice, f"bob-{tag}")
    expect(_messages(alice)).to_have_count(2)
    _open_channel(alice, "general")
    expect(badge).to_have_count(0)

    # Errors the functions raise (ConvexError codes) are shown on the page.
    status = alice.locator("#status")
    alice.fill("#new-channel input[name=name]", "General")
    alice.press("#new-channel input[name=name]", "Enter")
    expect(status).to_have_text("That channel already exists.")
    expect(status).to_have_class("error")
    alice.fill("#new-channel input[name=name]", "")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=SCREENSHOTS / "demo-desktop.png")
    for user, page in (("alice", alice), ("bob", bob)):
        assert page.evaluate("window.notReloaded") is True, f"{user}'s page reloaded"

    # The page remembers the channel it last showed: a new tab without a #fragment opens it.
    _open_channel(bob, f"bob-{tag}")
    again = bob.context.new_page()
    again.goto(pages.url + "/")
    expect(again.locator("#channel-name")).to_have_text(f"# bob-{tag}")
    again.close()
    assert pages.problems == []


def test_load_more(pages: Pages, alice: Page) -> None:
    """Newest first, PAGE_SIZE at a time; messages posted over HTTP show up live too."""
    _, token = _http_user(pages.url, "bob")
    name = f"many-{uuid.uuid4().hex[:6]}"
    channel = _mutation(pages.url, "chat:create_channel", {"name": name}, token)["value"]
    for i in range(PAGE_SIZE + 5):
        done = _mutation(pages.url, "chat:send", {"channel": channel, "body": f"n{i}"}, token)
        assert done["status"] == "success", done
    _open_channel(alice, name)
    expect(_messages(alice)).to_have_count(PAGE_SIZE)
    expect(_messages(alice).first).to_contain_text(f"n{PAGE_SIZE + 4}")  # newest first
    alice.click("#load-more")
    expect(_messages(alice)).to_have_count(PAGE_SIZE + 5)
    expect(_messages(alice).last).to_contain_text("n0")
    expect(alice.locator("#load-more")).to_have_count(0)  # all loaded
    assert pages.problems == []


def test_bot_answers(pages: Pages, alice: Page, bob: Page) -> None:
    name = f"bot-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    _open_channel(bob, name)
    _send(alice, "@bot hello there")
    answer = bob.locator("#messages li.bot")
    expect(answer).to_contain_text("You said “hello there”", timeout=WAIT_MS)
    expect(answer.locator(".author")).to_have_text("bot")
    assert pages.problems == []


def test_later_then_cancel(pages: Pages, alice: Page, bob: Page) -> None:
    name = f"later-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    _open_channel(bob, name)
    pending = alice.locator("#pending li")
    _send(alice, "/later 3 never posted")
    due = time.monotonic() + 3
    expect(alice.locator("#status")).to_contain_text("Scheduled for")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("never posted")
    expect(bob.locator("#pending li")).to_have_count(0)  # each user sees their own
    pending.locator("button").click()
    expect(pending).to_have_count(0)
    expect(alice.locator("#status")).to_have_text("Cancelled: it will not be posted.")

    # ... while one left alone is posted by the worker, and leaves the pending list.
    _send(alice, "/later 1 posted later")
    expect(pending).to_have_count(1)
    expect(_messages(bob).first).to_contain_text("posted later", timeout=WAIT_MS)
    expect(pending).to_have_count(0)
    # 1.5 s past the cancelled one's due time (the worker starts a due job in milliseconds)
    time.sleep(max(0.0, due + 1.5 - time.monotonic()))
    expect(_messages(bob)).to_have_count(1)
    expect(_messages(alice)).to_have_count(1)
    assert pages.problems == []


def test_long_word_keeps_send_visible(pages: Pages, alice: Page, bob: Page) -> None:
    name = "a-very-long-channel-name-" + "x" * 7
    _channel(alice, name)
    _open_channel(bob, name)
    _send(alice, "w" * 2000)
    expect(_messages(bob)).to_have_count(1)
    for page in (alice, bob):
        _assert_in_viewport(page, "#send button")
        _assert_in_viewport(page, f"#channels button[data-channel='{name}']")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=SCREENSHOTS / "demo-long-word.png")
    assert pages.problems == []


def _assert_in_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None, selector
    assert 0 <= box["x"] and box["x"] + box["width"] <= size["width"], (selector, box, size)
    assert 0 <= box["y"] and box["y"] + box["height"] <= size["height"], (selector, box, size)


def test_phone_width(pages: Pages) -> None:
    phone = pages.logged_in("bob", viewport={"width": 390, "height": 844})
    _open_channel_phone(phone, "general")
    expect(_messages(phone).last).to_contain_text("Welcome to the reactive demo!")
    _assert_in_viewport(phone, "#send button")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=SCREENSHOTS / "demo-390px.png")
    _send(phone, "x" * 2000)  # a long word at phone width too
    expect(_messages(phone).first).to_contain_text("x" * 100)
    _assert_in_viewport(phone, "#send button")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.screenshot(path=SCREENSHOTS / "demo-390px-long-word.png")
    phone.click("#menu")  # the sidebar slides in over the chat
    _assert_in_viewport(phone, "#new-channel button")
    phone.screenshot(path=SCREENSHOTS / "demo-390px-menu.png")
    phone.context.close()
    assert pages.problems == []


def _open_channel_phone(page: Page, name: str) -> None:
    page.click("#menu")
    _open_channel(page, name)
    expect(page.locator("#sidebar")).to_be_hidden()


def test_sign_up(pages: Pages) -> None:
    username = f"carol{uuid.uuid4().hex[:6]}"
    _, token = _http_user(pages.url, "bob")  # a channel that sorts before #general
    _mutation(pages.url, "chat:create_channel", {"name": "0-first"}, token)
    page = pages.open(username)
    page.goto(pages.url + "/")
    page.click("text=Sign up")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "a long passphrase 42")
    page.fill("input[name=password2]", "a long passphrase 42")
    page.click("button[type=submit]")
    _wait_ready(page, username)
    expect(page.locator("#channels li").first).to_have_text("# 0-first")
    expect(page.locator("#channel-name")).to_have_text("# general")  # a new browser's default
    _send(page, "Hi, I just signed up")
    expect(_messages(page).first).to_contain_text(f"{username}")
    expect(_messages(page).first).to_contain_text("Hi, I just signed up")
    page.context.close()
    assert pages.problems == []


def test_visitor_reads_but_cannot_post_or_create(pages: Pages) -> None:
    page = pages.open("visitor", viewport={"width": 390, "height": 844})
    page.goto(pages.url + "/#random")
    expect(page.locator("#connection")).to_have_text("live")
    expect(page.locator("#channel-name")).to_have_text("# random")
    expect(page.locator("#messages")).to_contain_text("Anyone up for lunch?")
    expect(page.locator("#new-channel")).to_have_count(0)
    expect(page.locator("#send button")).to_be_disabled()
    _assert_in_viewport(page, ".who a:text-is('Sign up')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "demo-390px-visitor.png")
    page.context.close()
    # The server refuses too, whatever the page shows.
    refused = _mutation(pages.url, "chat:create_channel", {"name": "sneaky"})
    assert refused["status"] == "error" and refused["errorData"]["code"] == "NOT_LOGGED_IN"
    channels = requests.post(
        pages.url + "/api/query",
        json={"path": "chat:list_channels", "args": {}, "format": "json"},
        timeout=5,
    ).json()["value"]
    assert "sneaky" not in {c["name"] for c in channels}
    assert pages.problems == []


def test_attachment_upload(pages: Pages, alice: Page, bob: Page, tmp_path: Path) -> None:
    name = f"files-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    _open_channel(bob, name)
    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    alice.set_input_files("#send input[name=file]", picture)
    expect(alice.locator("#file-name")).to_have_text("dot.png")
    _send(alice, "a picture")
    image = bob.locator("#messages li.message img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("alt", "dot.png")
    src = image.get_attribute("src")
    assert src is not None and "/api/storage/" in src
    served = requests.get(src, timeout=5)
    assert served.content == PNG and served.headers["Content-Type"] == "image/png"
    assert bob.evaluate("document.querySelector('#messages img').naturalWidth") == 1
    assert pages.problems == []


def test_search(pages: Pages, alice: Page, bob: Page) -> None:
    word = f"zebra{uuid.uuid4().hex[:6]}"
    _open_channel(alice, "random")
    _send(alice, f"Have you seen the {word} today?")
    expect(_messages(alice).first).to_contain_text(word)
    _open_channel(bob, "general")
    bob.fill("#search", word)
    result = bob.locator("#results li button")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("#random · Alice")
    result.click()
    expect(bob.locator("#channel-name")).to_have_text("# random")
    bob.fill("#search", "nothingmatchesthis")
    expect(bob.locator("#results")).to_have_text("No matches.")
    assert pages.problems == []


def test_offline_messages_wait_greyed_then_send(pages: Pages) -> None:
    """The WebSocket goes down (its route cut, and reconnections refused): a message sent then
    shows greyed as "sending…" while the client queues its mutation, and is sent on reconnect."""
    offline = False
    sockets: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        if offline:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    page = pages.open("alice-offline")
    page.route_web_socket(re.compile(r"/api/[^/]+/sync$"), route)
    pages.logged_in("alice", page=page)
    name = f"offline-{uuid.uuid4().hex[:6]}"
    _channel(page, name)

    offline = True
    for ws in sockets:
        ws.close()
    expect(page.locator("#connection")).to_have_text("offline")
    _send(page, "sent while offline")
    sending = page.locator("#messages li.sending")
    expect(sending).to_contain_text("sent while offline")
    expect(sending).to_contain_text("sending…")
    assert (
        page.eval_on_selector("#messages li.sending", "e => getComputedStyle(e).opacity") == "0.5"
    )
    _send(page, "/later 600 scheduled while offline")  # said at once too, not silently queued
    expect(page.locator("#status")).to_have_text("Scheduling…")

    offline = False  # the client's next attempt gets through, and sends the queued mutation
    expect(page.locator("#connection")).to_have_text("live", timeout=10_000)
    expect(sending).to_have_count(0)
    expect(_messages(page)).to_have_count(1)
    expect(_messages(page).first).to_contain_text("sent while offline")
    expect(page.locator("#status")).to_contain_text("Scheduled for")
    expect(page.locator("#pending li")).to_contain_text("scheduled while offline")
    page.locator("#pending li button").click()
    expect(page.locator("#pending li")).to_have_count(0)
    page.context.close()
    assert pages.problems == []


def test_seeded_staff_user_reaches_the_admin(pages: Pages) -> None:
    s = requests.Session()
    s.get(pages.url + "/admin/login/", timeout=5)
    answer = s.post(
        pages.url + "/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": "admin",
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": pages.url + "/admin/login/"},
        timeout=5,
    )
    assert answer.url.endswith("/admin/") and "Site administration" in answer.text
    # the chat tables' times are dates (ReactiveModelAdmin), never ms since the epoch
    messages = s.get(pages.url + "/admin/chat/message/", timeout=5).text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", messages), messages[-2000:]
    for table in ("message", "channel", "profile", "read"):
        page = s.get(pages.url + f"/admin/chat/{table}/", timeout=5)
        assert page.status_code == 200 and not re.search(r"\b1\d{12}\.\d", page.text), table


def test_mistyped_later_is_refused_not_posted(pages: Pages, alice: Page, bob: Page) -> None:
    """A "/later" not followed by "N text" was posted to everyone as a message; now it is
    refused with the form to use, and nothing is posted or scheduled."""
    _, token = _http_user(pages.url, "alice")
    name = f"typo-{uuid.uuid4().hex[:6]}"
    channel = _mutation(pages.url, "chat:create_channel", {"name": name}, token)["value"]
    _open_channel(bob, name)
    for body in ("/later -5 x", "/later 999999 x", "/later abc x", "/later 10", "/later", "/Later"):
        refused = _mutation(pages.url, "chat:send", {"channel": channel, "body": body}, token)
        assert refused.get("errorData", {}).get("code") == "BAD_LATER", (body, refused)
    scheduled = _mutation(
        pages.url, "chat:send", {"channel": channel, "body": "/LATER 0 hi"}, token
    )
    assert "scheduled" in scheduled["value"], scheduled  # any case, as "@bot"
    _open_channel(alice, name)
    _send(alice, "/later soon please")
    expect(alice.locator("#status")).to_have_text(re.compile(r"^Use /later N text"))
    expect(alice.locator("#send input[name=body]")).to_have_value("/later soon please")
    expect(_messages(bob).first).to_contain_text("hi", timeout=WAIT_MS)  # the one scheduled
    expect(_messages(bob)).to_have_count(1)
    _send(alice, "")  # Enter in an empty box sends nothing and scolds nobody
    expect(alice.locator("#status")).to_have_text("")
    assert pages.problems == []


def test_long_username_fits(pages: Pages) -> None:
    """Django allows 150-character usernames: the header's name and a message's author were
    one unbroken line each, pushing "Log out" and the time off the screen."""
    username = f"long{uuid.uuid4().hex[:6]}".ljust(150, "x")
    page = pages.open("long-name", viewport={"width": 390, "height": 844})
    page.goto(pages.url + "/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "a long passphrase 42")
    page.fill("input[name=password2]", "a long passphrase 42")
    page.click("button[type=submit]")
    _wait_ready(page, username)
    expect(page.locator("#channel-name")).to_have_text("# general")
    _send(page, "my name is long")
    expect(page.locator("#messages li.sending")).to_have_count(0)  # the server has it
    expect(_messages(page).first).to_contain_text("my name is long")
    expect(_messages(page).first.locator(".author")).to_have_text(username[:64])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    for selector in (".who button", "#connection", "#messages li.message >> nth=0 >> time"):
        _assert_in_viewport(page, selector)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "demo-390px-long-username.png")
    page.context.close()
    assert pages.problems == []


def test_bad_hash_blocked_storage_and_early_menu(pages: Pages) -> None:
    """Three ways the first channel was never shown, or the menu shut: a link with a malformed
    %-escape threw URIError; with site data blocked, reading localStorage throws SecurityError;
    and the ☰ menu opened before the channel list arrived was closed again by the page picking
    the first channel."""
    held = True
    waiting: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:  # the socket is held off until the menu is open
        if held:
            ws.close()
            waiting.append(ws)
        else:
            ws.connect_to_server()

    page = pages.open("visitor-bad-hash", viewport={"width": 390, "height": 844})
    page.route_web_socket(re.compile(r"/api/[^/]+/sync$"), route)
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', {get() {"
        " throw new DOMException('The operation is insecure.', 'SecurityError'); }})"
    )
    page.goto(pages.url + "/#%E0%A4%A")
    expect(page.locator("#channel-name")).to_have_text("…")
    page.click("#menu")
    expect(page.locator("#sidebar")).to_be_visible()
    assert waiting, "the page opened no socket"
    held = False
    expect(page.locator("#channel-name")).to_have_text("# general", timeout=10_000)
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Welcome to the reactive demo!")
    page.context.close()
    assert pages.problems == []


def test_bot_questions_are_rate_limited(pages: Pages, bob: Page) -> None:
    """Each "@bot" runs an action: a user could queue thousands. Five in a row, then one
    every 6 s; a refused question is not posted either."""
    _, token = _http_user(pages.url, "bob")
    name = f"spam-{uuid.uuid4().hex[:6]}"
    channel = _mutation(pages.url, "chat:create_channel", {"name": name}, token)["value"]
    for i in range(5):
        sent = _mutation(pages.url, "chat:send", {"channel": channel, "body": f"@bot {i}"}, token)
        assert "message" in sent["value"], sent
    refused = _mutation(pages.url, "chat:send", {"channel": channel, "body": "@bot 5"}, token)
    assert refused["errorData"]["code"] == "SLOW_DOWN", refused
    assert 0 < refused["errorData"]["retryAfter"] <= 6000, refused
    _open_channel(bob, name)
    _send(bob, "@bot again")
    expect(bob.locator("#status")).to_contain_text("ask again in")
    expect(bob.locator("#send input[name=body]")).to_have_value("@bot again")
    expect(bob.locator("#messages li.message:not(.bot)")).to_have_count(5)  # not posted
    bob.fill("#send input[name=body]", "")
    assert pages.problems == []


def test_long_pending_later_and_file_name_at_phone_width(
    pages: Pages, alice: Page, tmp_path: Path
) -> None:
    """The pending "/later" list grew with its messages: one 2,000-character word pushed the
    Send button (and the messages) off the screen. The list scrolls within a third of it. And
    an attachment's long file name ran out of its message."""
    name = f"later-long-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    alice.set_viewport_size({"width": 390, "height": 844})
    try:
        _send(alice, "/later 99999 " + "p" * 1980)
        expect(alice.locator("#pending li")).to_have_count(1)
        # 27 hours from now: another day, so the date is shown, not only a time of day
        expect(alice.locator("#pending li time")).to_have_text(re.compile(r"\d{4}"))
        for selector in ("#send button", "#pending li button"):
            _assert_in_viewport(alice, selector)
        pending = alice.locator("#pending").bounding_box()
        assert pending is not None and pending["height"] <= 844 / 3, pending
        alice.locator("#pending li button").click()
        expect(alice.locator("#pending li")).to_have_count(0)
        document = tmp_path / ("n" * 200 + ".txt")
        document.write_text("hello")
        alice.set_input_files("#send input[name=file]", document)
        _send(alice, "a file")
        link = alice.locator("#messages a.attachment")
        expect(link).to_contain_text("n" * 100)
        box, frame = link.bounding_box(), alice.locator("#messages").bounding_box()
        assert box is not None and frame is not None
        assert box["x"] + box["width"] <= frame["x"] + frame["width"], (box, frame)
    finally:
        alice.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    assert pages.problems == []


def test_uploaded_html_and_svg_run_no_script(pages: Pages, alice: Page, tmp_path: Path) -> None:
    """Files are served from the page's own origin: an uploaded .html or .svg opened from its
    attachment link must not run script there (stored XSS). reactive serves them with
    `Content-Security-Policy: sandbox` (an opaque origin, no script) and `nosniff`."""
    name = f"evil-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    script = "document.title = 'ran ' + document.cookie; localStorage.setItem('xss', '1')"
    files = {
        "evil.html": f"<title>inert</title><script>{script}</script><p>hello</p>",
        "evil.svg": f'<svg xmlns="http://www.w3.org/2000/svg"><title>inert</title>'
        f"<script>{script}</script></svg>",
    }
    for filename, content in files.items():
        (tmp_path / filename).write_text(content)
        alice.set_input_files("#send input[name=file]", tmp_path / filename)
        _send(alice, filename)
        expect(_messages(alice).first).to_contain_text(filename)
    links = alice.locator("#messages a.attachment")
    with alice.context.expect_page() as opened:
        links.last.click()  # evil.html, as a user would open it
    tab = opened.value
    for filename, href in (("evil.html", None), ("evil.svg", links.first.get_attribute("href"))):
        if href is not None:
            tab.goto(href)
        tab.wait_for_load_state()
        assert tab.url.startswith(pages.url + "/api/storage/"), tab.url
        assert tab.title() == "inert", filename  # the script did not run
        assert tab.evaluate("window.origin") == "null", filename  # and could not reach the site
    tab.close()
    assert alice.evaluate("localStorage.getItem('xss')") is None
    assert pages.problems == []


def test_failed_upload_says_so_and_keeps_the_file(
    pages: Pages, alice: Page, tmp_path: Path
) -> None:
    """The upload's POST failing (server gone, connection cut) showed fetch's bare "Failed to
    fetch" and dropped the chosen file; now it says what failed and gives back text and file."""
    name = f"upload-{uuid.uuid4().hex[:6]}"
    _channel(alice, name)
    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    alice.route(re.compile(r"/api/storage/upload"), lambda route: route.abort())
    try:
        alice.set_input_files("#send input[name=file]", picture)
        _send(alice, "with a picture")
        expect(alice.locator("#status")).to_have_text(
            "dot.png could not be uploaded: the server did not answer. Send again."
        )
    finally:
        alice.unroute(re.compile(r"/api/storage/upload"))
    expect(alice.locator("#send input[name=body]")).to_have_value("with a picture")
    expect(alice.locator("#file-name")).to_have_text("dot.png")
    expect(_messages(alice)).to_have_count(0)
    alice.press("#send input[name=body]", "Enter")  # sent again, as it is
    expect(_messages(alice).first.locator("img")).to_have_attribute("alt", "dot.png")
    assert pages.problems == []
