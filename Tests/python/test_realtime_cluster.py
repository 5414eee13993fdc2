"""Realtime across a cluster through the `pocketbase` Python SDK: a client subscribed on one
node receives create, update and delete events, once each, for writes made on another node.

Needs STOA_URL and STOA_URL2: the HTTP base URLs of two nodes of the same cluster (same token
secret), and STOA_GATEWAY_URL: a gateway in front of them (the subscription is then made through
the gateway, which must send the subscription request to the node holding the stream).
scripts/test.sh starts them.
"""

from __future__ import annotations

import os
import queue
import secrets
import time

import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError

STOA_URL = os.environ.get("STOA_URL", "").rstrip("/")
STOA_URL2 = os.environ.get("STOA_URL2", "").rstrip("/")
STOA_GATEWAY_URL = os.environ.get("STOA_GATEWAY_URL", "").rstrip("/")

pytestmark = pytest.mark.skipif(not STOA_URL, reason="STOA_URL is not set")


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def next_event(events: queue.Queue, record_id: str, timeout: float = 15.0):
    """The next event about `record_id` (events about other records are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no event for {record_id}")
        event = events.get(timeout=remaining)
        if event.record.id == record_id:
            return event


@pytest.mark.parametrize("via", ["second node", "gateway"])
def test_realtime_events_for_writes_on_another_node(via):
    watch_url = STOA_URL2 if via == "second node" else STOA_GATEWAY_URL
    assert watch_url, "STOA_URL2 and STOA_GATEWAY_URL must name a second node and a gateway"
    writer, watcher = PocketBase(STOA_URL, timeout=30), PocketBase(watch_url, timeout=30)
    email, password = f"rt-{secrets.token_hex(6)}@example.com", "pw-" + secrets.token_hex(8)
    writer.collection("users").create({"email": email, "password": password, "passwordConfirm": password})
    writer.collection("users").auth_with_password(email, password)

    def signed_in_on_node2():
        try:
            return watcher.collection("users").auth_with_password(email, password)
        except ClientResponseError:
            return None

    wait_for(signed_in_on_node2, what="the user to replicate to node 2")

    events: queue.Queue = queue.Queue()
    watcher.collection("quotes").subscribe(events.put)
    try:
        # The subscription is registered asynchronously: write on node 2 until its event comes.
        def warmed_up():
            probe = watcher.collection("quotes").create({"content": "warm-up"})
            try:
                return next_event(events, probe.id, timeout=0.5)
            except (AssertionError, queue.Empty):
                return None

        wait_for(warmed_up, what="the subscription to be active")

        created = writer.collection("quotes").create({"content": "written on node 1", "tags": ["a"]})
        event = next_event(events, created.id)
        assert event.action == "create"
        assert event.record.content == "written on node 1" and event.record.tags == ["a"]

        writer.collection("quotes").update(created.id, {"content": "edited on node 1"})
        event = next_event(events, created.id)
        assert event.action == "update" and event.record.content == "edited on node 1"

        writer.collection("quotes").delete(created.id)
        event = next_event(events, created.id)
        assert event.action == "delete" and event.record.id == created.id

        # Once each: nothing more arrives for that record.
        with pytest.raises((AssertionError, queue.Empty)):
            next_event(events, created.id, timeout=1.0)
    finally:
        watcher.collection("quotes").unsubscribe()


@pytest.mark.parametrize("via", ["second node", "gateway"])
def test_realtime_options_filter_fields_expand(via):
    """PocketBase's subscription options (`quotes?options={"query":{...}}`, as the JS SDK sends
    them): only records matching `filter`, narrowed by `fields`, with `expand`, for writes made
    on another node, whichever node holds the stream."""
    import json
    import urllib.parse

    watch_url = STOA_URL2 if via == "second node" else STOA_GATEWAY_URL
    assert watch_url, "STOA_URL2 and STOA_GATEWAY_URL must name a second node and a gateway"
    writer, watcher = PocketBase(STOA_URL, timeout=30), PocketBase(watch_url, timeout=30)
    email, password = f"rto-{secrets.token_hex(6)}@example.com", "pw-" + secrets.token_hex(8)
    user = writer.collection("users").create({"email": email, "password": password, "passwordConfirm": password})
    writer.collection("users").auth_with_password(email, password)

    def signed_in_on_node2():
        try:
            return watcher.collection("users").auth_with_password(email, password)
        except ClientResponseError:
            return None

    wait_for(signed_in_on_node2, what="the user to replicate to node 2")

    options = {"query": {"filter": "author = 'Seneca' || content = 'warm-up'", "fields": "id,author,expand", "expand": "userId"}}
    topic = "quotes?options=" + urllib.parse.quote(json.dumps(options), safe="")
    events: queue.Queue = queue.Queue()
    seen: list = []

    def on_event(event):
        seen.append(event)
        events.put(event)

    watcher.realtime.subscribe(topic, on_event)
    try:
        def warmed_up():
            probe = watcher.collection("quotes").create({"content": "warm-up", "userId": user.id})
            try:
                return next_event(events, probe.id, timeout=0.5)
            except (AssertionError, queue.Empty):
                return None

        wait_for(warmed_up, what="the subscription to be active")

        skipped = writer.collection("quotes").create({"content": "not his", "author": "Marcus", "userId": user.id})
        kept = writer.collection("quotes").create({"content": "his", "author": "Seneca", "userId": user.id})
        event = next_event(events, kept.id)
        assert event.action == "create" and event.record.author == "Seneca"
        assert getattr(event.record, "content", None) is None, "fields left content out"
        assert event.record.expand["userId"].id == user.id
        time.sleep(1.0)
        assert all(e.record.id != skipped.id for e in seen), "the filter left Marcus's quote out"
    finally:
        watcher.realtime.unsubscribe_by_prefix("quotes")
