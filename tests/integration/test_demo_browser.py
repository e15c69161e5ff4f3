"""The demo chat page in a real browser: chromium (Debian's, driven by Playwright) running the
official Convex client (npm `convex`'s browser bundle) against daphne serving demo_project.

Two users, two browser contexts: what one does shows up on the other's page without a reload or
any polling, so it went through the client's WebSocket and reactive's sync engine. The server runs
on a database of its own, migrated and seeded like `python3 dev.py demo` does, dropped afterwards.
Needs `npm ci` in demo_project/web and /usr/bin/chromium (`python3 dev.py test` sees to both).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jwt as pyjwt
import psycopg
import pytest
import requests
from playwright.sync_api import Page, Request, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent.parent
BUNDLE = ROOT / "demo_project" / "web" / "node_modules" / "convex" / "dist" / "browser.bundle.js"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tests_database_url() -> str:
    """The tests' Postgres: DATABASE_URL, which loading tests.settings sets when it is unset."""
    from django.conf import settings

    settings.DATABASES  # noqa: B018 - load the settings
    return os.environ["DATABASE_URL"]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """daphne serving demo_project.asgi on a fresh, migrated and seeded database; its URL."""
    assert BUNDLE.exists(), "run `npm ci` in demo_project/web (`python3 dev.py test` does)"
    name = f"test_demo_browser_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = _tests_database_url()
    db_url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))  # same server, own database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="demo_project.settings",
        DATABASE_URL=db_url,
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "daphne.log"
    proc = worker = None
    try:
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stderr}"
        port = _free_port()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "--websocket-max-message-size",
                    str(17 * 1024 * 1024),
                    "--websocket-max-frame-size",
                    str(17 * 1024 * 1024),
                    "demo_project.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # The scheduler's worker, as `dev.py demo` runs it (for "/later" messages).
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
            print(f"--- daphne log ({log_path}), shown when the test fails ---\n{log_tail}")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _log_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    expect(page.locator(".who b")).to_have_text(username)
    # The badge turns "live" when the client's WebSocket is open.
    expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
    # The page called setAuth with a token bought by its session: the server accepted it (the
    # client's onChange(true) fires on the Transition that confirms the Authenticate).
    expect(page.locator("body")).to_have_attribute("data-socket-auth", "token", timeout=WAIT_MS)


def _send(page: Page, body: str) -> None:
    page.fill("#send input[name=body]", body)
    page.press("#send input[name=body]", "Enter")


def test_two_users_see_each_other_live(demo_server: str, tmp_path: Path) -> None:
    url = demo_server
    tag = uuid.uuid4().hex[:6]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = {}
            problems: list[str] = []  # uncaught exceptions, and any use of the HTTP API
            sent: dict[str, list[str | bytes]] = {"alice": [], "bob": []}  # WebSocket frames

            def watch_http(request: Request) -> None:
                # the page polled, or fell back to HTTP (buying a token is the one HTTP call)
                if "/api/" in request.url and "/api/auth/token" not in request.url:
                    problems.append(f"HTTP {request.method} {request.url}")

            for user in ("alice", "bob"):
                page = browser.new_context(viewport={"width": 1000, "height": 640}).new_page()
                page.set_default_timeout(WAIT_MS)
                page.on("pageerror", lambda e, user=user: problems.append(f"{user}: {e}"))
                page.on("request", watch_http)
                page.on(
                    "websocket",
                    lambda ws, user=user: ws.on(
                        "framesent", lambda frame, user=user: sent[user].append(frame)
                    ),
                )
                _log_in(page, url, user)
                expect(page.locator("#channel-name")).to_have_text("# general")  # the first
                expect(page.locator("#messages")).to_contain_text("Welcome to the reactive demo!")
                page.evaluate("window.notReloaded = true")
                pages[user] = page
            alice, bob = pages["alice"], pages["bob"]
            for user, frames in sent.items():  # each socket sent its user's token
                tokens = [
                    json.loads(f)["value"]
                    for f in frames
                    if isinstance(f, str) and json.loads(f).get("type") == "Authenticate"
                ]
                assert tokens, f"{user}'s page sent no Authenticate"
                claims = pyjwt.decode(tokens[0], options={"verify_signature": False})
                assert claims["preferred_username"] == user, claims

            # alice's message reaches bob's open page over the WebSocket.
            _send(alice, f"Hello Bob, live from the browser ({tag})")
            expect(alice.locator("#send input[name=body]")).to_have_value("")
            expect(bob.locator("#messages li").last).to_contain_text(
                f"AliceHello Bob, live from the browser ({tag})"
            )
            bob.screenshot(path=tmp_path / "bob-live.png")

            # bob's new channel appears in alice's channel list; bob's page switches to it.
            bob.fill("#new-channel input[name=name]", f"bob-{tag}")
            bob.press("#new-channel input[name=name]", "Enter")
            expect(bob.locator("#channel-name")).to_have_text(f"# bob-{tag}")
            expect(bob.locator("#messages")).to_have_text("No messages yet.")
            expect(alice.locator("#channels")).to_contain_text(f"# bob-{tag}")
            expect(alice.locator("#channel-name")).to_have_text("# general")  # alice stays put

            # ...and when alice joins it, bob sees her there.
            alice.click(f"#channels button:text-is('# bob-{tag}')")
            expect(alice.locator("#channel-name")).to_have_text(f"# bob-{tag}")
            _send(alice, "Nice channel")
            expect(bob.locator("#messages")).to_contain_text("AliceNice channel")
            expect(bob.locator("#messages li")).to_have_count(1)

            # The chat functions' ConvexErrors (error.data.code) are shown on the page.
            status = alice.locator("#status")
            _send(alice, "   ")
            expect(status).to_have_text("Type a message first.")
            expect(status).to_have_class("error")
            alice.eval_on_selector("#send input[name=body]", "i => i.value = 'x'.repeat(2001)")
            alice.click("#send button")
            expect(status).to_have_text("Messages are at most 2000 characters.")
            expect(bob.locator("#messages li")).to_have_count(1)

            # An action, over the same WebSocket.
            alice.click("#summarize")
            expect(status).to_have_text("1 messages by Alice (1); common words: nice, channel")

            # "/later 1 …" is scheduled by the mutation and posted by the worker a second later.
            _send(bob, "/later 1 Scheduled hello")
            expect(bob.locator("#send input[name=body]")).to_have_value("")
            expect(bob.locator("#messages li")).to_have_count(1)
            expect(alice.locator("#messages li").last).to_contain_text(
                "Scheduled hello", timeout=WAIT_MS
            )
            expect(bob.locator("#messages li")).to_have_count(2)

            for user, page in pages.items():
                page.screenshot(path=tmp_path / f"{user}.png")
                assert page.evaluate("window.notReloaded") is True, f"{user}'s page reloaded"
                expect(page.locator("#connection")).to_have_text("live")
            assert problems == []
        finally:
            browser.close()
