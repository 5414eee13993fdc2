"""Superusers (issue 15) through the `pocketbase` Python SDK, as PocketBase 0.23+ has them:
`pb.collection("_superusers").auth_with_password(...)` against a node and through the gateway;
a superuser token passes every rule of `quotes` and `users`; user tokens never pass theirs.

Needs STOA_URL, STOA_URL2 (a second node of the same cluster), STOA_GATEWAY_URL and the
superuser made before the first node started (`stoa superuser upsert`), named by
STOA_SUPERUSER_EMAIL and STOA_SUPERUSER_PASSWORD (scripts/test.sh sets them all).
"""

from __future__ import annotations

import os
import time

import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError

from test_pocketbase_sdk import User

URLS = {name: os.environ.get(var, "").rstrip("/") for name, var in [("node1", "STOA_URL"), ("node2", "STOA_URL2"), ("gateway", "STOA_GATEWAY_URL")]}
EMAIL = os.environ.get("STOA_SUPERUSER_EMAIL", "")
PASSWORD = os.environ.get("STOA_SUPERUSER_PASSWORD", "")

pytestmark = pytest.mark.skipif(not (all(URLS.values()) and EMAIL and PASSWORD), reason="needs two nodes, a gateway and a superuser")


SIGNED_IN: dict[str, PocketBase] = {}


def superuser(url: str, timeout_s: float = 20) -> PocketBase:
    """A client signed in as the superuser at `url` (waiting for it to replicate there); one
    sign-in per URL (the gateway allows 2 sign-ins per 3 s from one address)."""
    if url in SIGNED_IN:
        return SIGNED_IN[url]
    pb = PocketBase(url, timeout=30)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            auth = pb.collection("_superusers").auth_with_password(EMAIL, PASSWORD)
            assert auth.record.collection_name == "_superusers"
            assert auth.record.email == EMAIL
            SIGNED_IN[url] = pb
            return pb
        except ClientResponseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def alice():
    u = User("su-alice")
    yield u
    u.cleanup()


@pytest.mark.parametrize("where", ["node1", "node2", "gateway"])
def test_superuser_signs_in_everywhere(where):
    pb = superuser(URLS[where])
    assert pb.collection("quotes").get_list(1, 1).total_items >= 0
    if where != "gateway":   # sign-ins through the gateway are rate-limited per address
        assert pb.collection("_superusers").auth_refresh().token
        with pytest.raises(ClientResponseError) as wrong:
            PocketBase(URLS[where], timeout=30).collection("_superusers").auth_with_password(EMAIL, "not the password")
        assert wrong.value.status == 400


@pytest.mark.parametrize("where", ["node1", "gateway"])
def test_superuser_passes_every_quote_rule(alice, where):
    mine = alice.new_quote(content=f"su quote via {where}", author="Epictetus", tags=["su"])
    pb = superuser(URLS[where])
    quotes = pb.collection("quotes")
    # Writes land on one node and reach the other by replication; the gateway may send the
    # superuser's next request to either node, so each step waits until both nodes have the last.
    everywhere(alice, mine.id, lambda q: q is not None, "alice's quote")
    page = quotes.get_list(1, 50, {"filter": f'userId = "{alice.id}" && author = "Epictetus"', "sort": "-created,userId"})
    assert mine.id in [q.id for q in page.items]
    assert {getattr(q, "user_id", None) or getattr(q, "userId", None) for q in page.items} == {alice.id}
    edited = quotes.update(mine.id, {"content": "fixed by support"})
    assert edited.content == "fixed by support"
    everywhere(alice, mine.id, lambda q: q is not None and q.content == "fixed by support", "the superuser's edit")
    made = quotes.create({"content": "added by support", "userId": alice.id})
    everywhere(alice, made.id, lambda q: q is not None and q.content == "added by support", "the superuser's quote")
    with pytest.raises(ClientResponseError) as moved:
        quotes.update(mine.id, {"userId": made.id})
    assert moved.value.status == 400
    quotes.delete(mine.id)
    quotes.delete(made.id)
    for gone in (mine.id, made.id):
        everywhere(alice, gone, lambda q: q is None, "the superuser's delete")


def everywhere(user, record_id: str, accept, what: str) -> None:
    """Waits until `accept` takes the record (None when the node answers 404) as `user` reads it
    on each node."""
    for url in (URLS["node1"], URLS["node2"]):
        client = PocketBase(url, timeout=30)
        client.auth_store.save(user.pb.auth_store.token, user.pb.auth_store.model)
        eventually(lambda: found(client.collection("quotes"), record_id), accept, f"{what} on {url}")


def found(collection, record_id: str):
    """The record, or None when the node answers 404."""
    try:
        return collection.get_one(record_id)
    except ClientResponseError as error:
        if error.status == 404:
            return None
        raise


def eventually(fetch, accept, what: str, timeout_s: float = 20):
    """`fetch()` again every 0.1 s until `accept` takes its value (returned); fails after
    `timeout_s` with the last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.1)


def test_superuser_manages_users_and_users_never_pass_superuser_rules(alice):
    pb = superuser(URLS["gateway"])
    users = pb.collection("users")
    found = users.get_list(1, 10, {"filter": f'email = "{alice.email}"'})
    assert [u.id for u in found.items] == [alice.id]
    assert found.items[0].email == alice.email          # a superuser sees every email
    assert users.update(alice.id, {"name": "Renamed by support"}).name == "Renamed by support"
    # A user token: the _superusers collection and its sign-in stay closed.
    for url in (URLS["node1"], URLS["gateway"]):
        client = PocketBase(url, timeout=30)
        client.auth_store.save(alice.pb.auth_store.token, alice.pb.auth_store.model)
        with pytest.raises(ClientResponseError) as refused:
            client.collection("_superusers").get_list(1, 10)
        assert refused.value.status == 403
    with pytest.raises(ClientResponseError) as not_admin:
        PocketBase(URLS["node2"], timeout=30).collection("_superusers").auth_with_password(alice.email, alice.password)
    assert not_admin.value.status == 400
    # The gateway's status and the cluster overview: superusers only.
    alice_at_gateway = PocketBase(URLS["gateway"], timeout=30)
    alice_at_gateway.auth_store.save(alice.pb.auth_store.token, alice.pb.auth_store.model)
    for path in ("/api/gateway", "/api/cluster/overview"):
        assert pb.send(path, {"method": "GET"})
        with pytest.raises(ClientResponseError) as closed:
            alice_at_gateway.send(path, {"method": "GET"})
        assert closed.value.status in (403, 404)
