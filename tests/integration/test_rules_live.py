"""Row-level rules on a live server: over the WebSocket (raw sync frames, tests/sync_client.py)
and over HTTP (requests, and the official PyPI `convex` HTTP client with a server token).

Each user logs in through the Django session (tests/testapp/urls.py: /test/login); the session
identity's subject is the user's pk. Every frame a socket receives is kept, and the denied
contents (unique marker strings in titles, bodies and hidden fields) are looked for in all of
them: a subscriber must never receive a denied row by any route — first result, re-run after
another user's write, a page that grows, a row deleted or made private.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from convex.http_client import ConvexHttpClient

from tests.conftest import LiveServer
from tests.sync_client import RawSync

pytestmark = pytest.mark.django_db

R = "testapp/rules:"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class User:
    """A logged-in user: an HTTP session and its subject."""

    def __init__(self, server: LiveServer, name: str) -> None:
        self.server = server
        self.http = requests.Session()
        self.http.get(server.url + "/test/login", params={"username": unique(name)}, timeout=30)
        self.subject = self.call("query", "testapp:whoami")["value"]["subject"]

    @property
    def cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    def call(self, kind: str, path: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.post(
            f"{self.server.url}/api/{kind}",
            json={"path": path, "args": args or {}, "format": "json"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def do(self, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
        body = self.call(kind, path, args)
        assert body["status"] == "success", body
        return body["value"]

    async def socket(self) -> RawSync:
        return await RawSync.connect(self.server.ws_url, additional_headers={"Cookie": self.cookie})


def frames(client: RawSync) -> str:
    """Everything the socket has received, as text."""
    return json.dumps([client.transitions, client.responses, client.others])


def titles(docs: Any) -> set[str]:
    return {d.get("title") or d.get("body") for d in docs}


async def test_a_subscriber_never_receives_a_denied_row(asgi_server: LiveServer) -> None:
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    private, private2 = unique("PRIVATE"), unique("PRIVATE2")
    secret, diary = unique("SECRET"), unique("DIARY")
    shown, team_title = unique("shown"), unique("team")
    team = alice.do("mutation", R + "create_team", {"name": unique("T")})
    alice.do("mutation", R + "join", {"team": team, "user": bob.subject})

    sub = await bob.socket()
    q_posts = await sub.subscribe(R + "posts")
    q_page = await sub.subscribe(
        R + "posts_page", {"paginationOpts": {"numItems": 200, "cursor": None}}
    )
    q_diaries = await sub.subscribe(R + "diaries")
    q_diary_page = await sub.subscribe(
        R + "diaries_page", {"paginationOpts": {"numItems": 200, "cursor": None}}
    )
    writer = await alice.socket()

    # alice's writes, each re-running bob's queries
    p_private = await writer.mutation(R + "create_post", {"title": private, "salary": secret})
    p_shown = await writer.mutation(
        R + "create_post", {"title": shown, "public": True, "salary": secret}
    )
    await writer.mutation(R + "create_post", {"title": team_title, "team": team, "salary": secret})
    await writer.mutation(R + "write_diary", {"body": diary})
    await writer.mutation(R + "write_diary", {"body": shown, "shared": True})
    await writer.mutation(R + "patch_post", {"id": p_private, "fields": {"title": private2}})
    # a readable post made private, with new contents in the same write
    await writer.mutation(
        R + "patch_post", {"id": p_shown, "fields": {"public": False, "title": private2 + "x"}}
    )
    await writer.mutation(R + "delete_post", {"id": p_private})

    def settled() -> bool:
        posts = titles(sub.results.get(q_posts, []))
        page = titles(sub.results.get(q_page, {}).get("page", []))
        d1 = titles(sub.results.get(q_diaries, []))
        d2 = titles(sub.results.get(q_diary_page, {}).get("page", []))
        return (
            team_title in posts
            and team_title in page
            and shown not in posts  # made private
            and shown in d1
            and shown in d2
        )

    await sub.until(settled)
    seen = frames(sub)
    for denied in (private, private2, secret, diary):
        assert denied not in seen, denied
    assert "salary" not in seen  # the hidden field's key, too
    # alice, not an admin, does not see the hidden field of her own posts either
    own = await alice.socket()
    q_own = await own.subscribe(R + "posts")
    assert team_title in titles(own.results[q_own]) and secret not in frames(own)
    for client in (sub, writer, own):
        await client.close()


async def test_membership_change_reruns_the_subscriber(asgi_server: LiveServer) -> None:
    """A Q rule through `team__members__user`: joining the team shows its posts, leaving hides
    them again; the re-run is triggered by the membership row alone."""
    alice, carol = User(asgi_server, "alice"), User(asgi_server, "carol")
    team = alice.do("mutation", R + "create_team", {"name": unique("T")})
    title = unique("teampost")
    alice.do("mutation", R + "create_post", {"title": title, "team": team})
    sub = await carol.socket()
    qid = await sub.subscribe(R + "posts")
    assert title not in titles(sub.results[qid])
    member = alice.do("mutation", R + "join", {"team": team, "user": carol.subject})
    await sub.until(lambda: title in titles(sub.results[qid]))
    alice.do("mutation", R + "leave", {"member": member})
    await sub.until(lambda: title not in titles(sub.results[qid]))
    await sub.close()


async def test_pages_that_grow_never_gain_a_denied_row(asgi_server: LiveServer) -> None:
    """bob holds two pages of diaries (a Python rule: short pages); alice's writes land in both
    ranges; the pages grow with shared entries only."""
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    base = 10_000 + uuid.uuid4().int % 1_000_000 * 10  # a score range of this test's own
    for i in range(4):
        bob.do("mutation", R + "write_diary", {"body": unique("bob"), "score": base + i * 4})
    sub = await bob.socket()
    first = await sub.subscribe(
        R + "diaries_page", {"paginationOpts": {"numItems": 3, "cursor": None}}
    )
    cursor = sub.results[first]["continueCursor"]
    second = await sub.subscribe(
        R + "diaries_page", {"paginationOpts": {"numItems": 3, "cursor": cursor}}
    )
    hidden, shared = unique("HIDDEN"), unique("shared")
    for i in range(12):
        score = base + i
        if i % 3 == 0:
            alice.do(
                "mutation", R + "write_diary", {"body": shared, "shared": True, "score": score}
            )
        else:
            alice.do("mutation", R + "write_diary", {"body": hidden, "score": score})
    count = lambda qid: sum(  # noqa: E731
        1 for d in sub.results[qid]["page"] if d["body"] == shared
    )
    await sub.until(lambda: count(first) + count(second) >= 3)
    assert hidden not in frames(sub)
    await sub.close()


def test_http_reads_and_writes_obey_the_rules(asgi_server: LiveServer) -> None:
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    private = unique("PRIVATE")
    p_private = alice.do("mutation", R + "create_post", {"title": private})
    assert bob.do("query", R + "post", {"id": p_private}) is None
    assert private not in json.dumps(bob.do("query", R + "posts"))
    gone = bob.do("mutation", R + "create_post", {"title": "gone"})
    bob.do("mutation", R + "delete_post", {"id": gone})
    denied = bob.call("mutation", R + "patch_post", {"id": p_private, "fields": {"title": "x"}})
    absent = bob.call("mutation", R + "patch_post", {"id": gone, "fields": {"title": "x"}})
    assert denied["status"] == absent["status"] == "error"
    assert denied["errorMessage"].replace(p_private, "ID") == absent["errorMessage"].replace(
        gone, "ID"
    )
    refused = alice.call("mutation", R + "patch_post", {"id": p_private, "fields": {"owner": "x"}})
    assert refused["status"] == "error"
    assert "the rules of table 'posts' do not allow this change" in refused["errorMessage"]
    assert alice.do("query", R + "post", {"id": p_private})["owner"] == alice.subject


def test_a_failing_rule_over_http_is_a_clear_error_not_a_500(asgi_server: LiveServer) -> None:
    alice = User(asgi_server, "alice")
    boom = alice.do("mutation", R + "create_team", {"name": "boom"})
    body = alice.call("query", R + "team", {"id": boom})
    assert body["status"] == "error"
    assert "rule `read` of table 'teams' raised ValueError" in body["errorMessage"]
    assert "secret detail" not in json.dumps(body)
    body = alice.call("mutation", R + "create_team", {"name": "boom-insert"})
    assert "rule `insert` of table 'teams' raised KeyError" in body["errorMessage"]
    log = asgi_server.log()
    assert " 500 " not in log


def test_official_python_http_client_with_a_server_token(asgi_server: LiveServer) -> None:
    alice, bob = User(asgi_server, "alice"), User(asgi_server, "bob")
    private, mine = unique("PRIVATE"), unique("mine")
    p_private = alice.do("mutation", R + "create_post", {"title": private, "salary": "s"})
    token = bob.http.post(asgi_server.url + "/api/auth/token", timeout=30).json()["token"]
    client = ConvexHttpClient(asgi_server.url)
    client.set_auth(token)
    client.mutation(R + "create_post", {"title": mine})
    posts = client.query(R + "posts")
    assert mine in titles(posts) and private not in json.dumps(posts)
    assert client.query(R + "post", {"id": p_private}) is None
    with pytest.raises(Exception, match="DocumentNotFound|no document"):
        client.mutation(R + "delete_post", {"id": p_private})


def test_official_python_websocket_client_never_receives_a_denied_row(
    asgi_server: LiveServer,
) -> None:
    """PyPI `convex`'s WebSocket client (anonymous: it authenticates with the `Authenticate`
    message, not served yet) subscribed to the posts: alice's private post and every hidden
    field stay out of every value it is sent, the public post arrives."""
    from tests.interop.test_official_python_sync import Sync

    alice = User(asgi_server, "alice")
    private, public, salary = unique("PRIVATE"), unique("public"), unique("SALARY")
    sync = Sync(asgi_server)
    try:
        watch = sync.subscribe(sync.client(), R + "posts")
        alice.do("mutation", R + "create_post", {"title": private, "salary": salary})
        alice.do("mutation", R + "create_post", {"title": public, "public": True, "salary": salary})
        watch.until(lambda docs: public in titles(docs), "the public post")
        seen = json.dumps(watch.values)
        assert private not in seen and salary not in seen and '"salary"' not in seen
    finally:
        sync.close()
