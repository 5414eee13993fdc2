"""Account mail end to end: password reset, verification and email change through the
`pocketbase` Python SDK, against two clustered node processes that send mail to a real SMTP
server on loopback (aiosmtpd, started here). Each request goes to one node and its confirmation
to the other; the test reads the mail the server received, takes the token from its link,
confirms, and checks the outcome on both nodes (new password accepted, old one and the old auth
token refused).

Needs STOA_BIN: the `stoa` executable (scripts/test.sh sets it). The first node authenticates
to the SMTP server (AUTH, allowed in clear on loopback only), the second sends without.
"""

from __future__ import annotations

import email
import email.policy
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from pocketbase import PocketBase
from pocketbase.errors import ClientResponseError

STOA_BIN = os.environ.get("STOA_BIN", "")

pytestmark = pytest.mark.skipif(not STOA_BIN, reason="STOA_BIN is not set")

SMTP_USER, SMTP_PASSWORD = "stoa-mailer", "mail-" + secrets.token_hex(8)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A loopback port free for both TCP and UDP (the gossip port uses both)."""
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()


def launch(args: list, log: Path, processes: list) -> str:
    """Starts a node (`args`) logging to `log`, adds it to `processes`; returns its URL once it listens."""
    processes.append(subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT))
    process = processes[-1]

    def port():
        found = re.search(r"Server started and listening on 127\.0\.0\.1:(\d+)", log.read_text())
        assert process.poll() is None, log.read_text()
        return found and int(found.group(1))

    return f"http://127.0.0.1:{wait_for(port, what=f'{log.stem} to listen')}"


def stop_all(processes: list) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts, with whether its session
    authenticated."""

    def __init__(self):
        self.messages: queue.Queue = queue.Queue()
        self.seen: list = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.put({
            "to": list(envelope.rcpt_tos), "from": envelope.mail_from, "message": message,
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None,
        })
        return "250 Message accepted for delivery"

    def next_to(self, address: str, timeout: float = 20.0) -> dict:
        """The next message to `address` (others are kept for later)."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.seen:
                if address in item["to"]:
                    self.seen.remove(item)
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no mail to {address}")
            try:
                self.seen.append(self.messages.get(timeout=remaining))
            except queue.Empty:
                pass


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() \
        and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok)


def link_token(item: dict, page: str) -> tuple[str, str]:
    """(link, token) of the link to `page` in a mail."""
    body = item["message"].get_content()
    match = re.search(r"(https?://\S+/auth/" + page + r")#token=([A-Za-z0-9_.\-]+)", body)
    assert match, f"no {page} link in: {body}"
    return match.group(1), match.group(2)


@pytest.fixture(scope="module")
def cluster():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=smtp_port, authenticator=authenticator, auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    data = Path(tempfile.mkdtemp(prefix="stoa-mail-"))
    (data / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    processes, urls = [], []
    gossip = [free_port(), free_port()]
    try:
        for index, name in enumerate(["mail1", "mail2"]):
            args = [
                STOA_BIN, "node", "--name", name, "--data", str(data / name), "--http", "127.0.0.1:0",
                "--gossip", f"127.0.0.1:{gossip[index]}", "--cluster-key", "mail-test-key", "--token-secret", "mail-test-secret",
                "--bcrypt-cost", "4", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port),
                "--smtp-from", "Stoa <no-reply@stoa.test>",
            ]
            if index == 0:
                args += ["--smtp-user", SMTP_USER, "--smtp-password-file", str(data / "smtp-password")]
            else:
                args += ["--join", f"127.0.0.1:{gossip[0]}", "--public-url", "https://quotes.example.com/app/"]
            urls.append(launch(args, data / f"{name}.log", processes))

        def both_alive():
            # /api/cluster lists the other members (not the node itself).
            members = httpx.get(urls[0] + "/api/cluster", timeout=5).json().get("members", [])
            return any(m.get("name") == "mail2" and m.get("status") == "alive" for m in members)

        wait_for(both_alive, what="the two nodes to see each other")
        yield mailbox, urls, data
    finally:
        stop_all(processes)
        controller.stop()
        shutil.rmtree(data, ignore_errors=True)


def new_user(pb: PocketBase, other: PocketBase, password: str) -> str:
    """Signs up a user on `pb`, waits until `other` has it; returns the email."""
    address = f"mail-{secrets.token_hex(5)}@example.com"
    pb.collection("users").create({"email": address, "password": password, "passwordConfirm": password})

    def replicated():
        try:
            return other.collection("users").auth_with_password(address, password)
        except ClientResponseError:
            return None

    wait_for(replicated, what="the user to replicate")
    return address


def accepted(url: str, token: str) -> bool:
    return httpx.post(url + "/api/collections/users/auth-refresh", headers={"Authorization": token}, timeout=10).status_code == 200


def can_login(url: str, address: str, password: str) -> bool:
    try:
        PocketBase(url, timeout=30).collection("users").auth_with_password(address, password)
        return True
    except ClientResponseError:
        return False


def test_password_reset_requested_on_one_node_confirmed_on_the_other(cluster):
    mailbox, (url1, url2), _ = cluster
    pb1, pb2 = PocketBase(url1, timeout=30), PocketBase(url2, timeout=30)
    address = new_user(pb1, pb2, "old password 1")
    old_token = pb1.collection("users").auth_with_password(address, "old password 1").token
    assert accepted(url1, old_token) and accepted(url2, old_token)

    assert pb1.collection("users").request_password_reset(address) is True
    assert pb1.collection("users").request_password_reset("nobody-" + address) is True, "204 for an unknown email too"
    item = mailbox.next_to(address)
    assert item["authenticated"], "node 1 authenticates to the SMTP server"
    assert item["from"] == "no-reply@stoa.test"
    assert item["message"]["Subject"] == "Reset your password"
    link, token = link_token(item, "confirm-password-reset")
    assert link == url1 + "/auth/confirm-password-reset", "links point to the node's served URL by default"

    assert pb2.collection("users").confirm_password_reset(token, "new password 1", "new password 1") is True
    assert can_login(url2, address, "new password 1")
    wait_for(lambda: can_login(url1, address, "new password 1"), what="the new password on node 1")
    assert not can_login(url1, address, "old password 1") and not can_login(url2, address, "old password 1")
    assert not accepted(url2, old_token)
    wait_for(lambda: not accepted(url1, old_token), what="node 1 to refuse the old auth token")

    with pytest.raises(ClientResponseError) as used:
        pb1.collection("users").confirm_password_reset(token, "third password", "third password")
    assert used.value.status == 400
    assert used.value.data["data"]["token"]["code"] == "validation_invalid_token"


def test_verification_requested_on_one_node_confirmed_on_the_other(cluster):
    mailbox, (url1, url2), _ = cluster
    pb1, pb2 = PocketBase(url1, timeout=30), PocketBase(url2, timeout=30)
    address = new_user(pb1, pb2, "password 22")
    assert pb2.collection("users").request_verification(address) is True
    item = mailbox.next_to(address)
    assert not item["authenticated"], "node 2 sends without AUTH"
    link, token = link_token(item, "confirm-verification")
    assert link == "https://quotes.example.com/app/auth/confirm-verification", "--public-url"
    assert pb1.collection("users").confirm_verification(token) is True

    def verified(url):
        return PocketBase(url, timeout=30).collection("users").auth_with_password(address, "password 22").record.verified

    assert verified(url1)
    wait_for(lambda: verified(url2), what="verified on node 2")


def test_email_change_requested_on_one_node_confirmed_on_the_other(cluster):
    mailbox, (url1, url2), _ = cluster
    pb1, pb2 = PocketBase(url1, timeout=30), PocketBase(url2, timeout=30)
    address = new_user(pb1, pb2, "password 33")
    taken = new_user(pb1, pb2, "password 34")
    pb1.collection("users").auth_with_password(address, "password 33")
    old_token = pb1.auth_store.token
    with pytest.raises(ClientResponseError) as refused:
        pb1.collection("users").request_email_change(taken)
    assert refused.value.data["data"]["newEmail"]["code"] == "validation_invalid_new_email"

    new_address = "changed-" + address
    assert pb1.collection("users").request_email_change(new_address) is True
    link, token = link_token(mailbox.next_to(new_address), "confirm-email-change")
    with pytest.raises(ClientResponseError) as wrong:
        pb2.collection("users").confirm_email_change(token, "not the password")
    assert wrong.value.data["data"]["password"]["code"] == "validation_invalid_password"
    assert pb2.collection("users").confirm_email_change(token, "password 33") is True
    assert can_login(url2, new_address, "password 33")
    wait_for(lambda: can_login(url1, new_address, "password 33"), what="the new email on node 1")
    assert not can_login(url1, address, "password 33")
    wait_for(lambda: not accepted(url1, old_token), what="node 1 to refuse the old auth token")


def test_starttls_with_a_private_ca():
    """STARTTLS when the server offers it: an SMTP server that requires it (and TLS before AUTH),
    with a certificate from a private CA given to the node as --smtp-ca-file. The reset mail
    arrives over TLS, authenticated. The same node without the CA file refuses the server's
    certificate: no mail is delivered, the request still answers 204."""
    import ssl
    from aiosmtpd.controller import Controller

    folder = Path(tempfile.mkdtemp(prefix="stoa-mail-tls-"))
    certificate, key = folder / "smtp.pem", folder / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate), str(key))
    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port, authenticator=authenticator,
                            tls_context=context, require_starttls=True, auth_require_tls=True)
    controller.start()
    (folder / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    processes = []
    try:
        def start(name, trust):
            args = [STOA_BIN, "node", "--name", name, "--data", str(folder / name), "--http", "127.0.0.1:0",
                    "--token-secret", "tls-test-secret", "--bcrypt-cost", "4", "--smtp-host", "127.0.0.1",
                    "--smtp-port", str(smtp_port), "--smtp-from", "no-reply@stoa.test",
                    "--smtp-user", SMTP_USER, "--smtp-password-file", str(folder / "smtp-password")]
            if trust:
                args += ["--smtp-ca-file", str(certificate)]
            log = folder / f"{name}.log"
            return launch(args, log, processes), log

        url, _ = start("tls1", trust=True)
        pb = PocketBase(url, timeout=30)
        address = f"tls-{secrets.token_hex(5)}@example.com"
        pb.collection("users").create({"email": address, "password": "tls password 1", "passwordConfirm": "tls password 1"})
        assert pb.collection("users").request_password_reset(address) is True
        item = mailbox.next_to(address)
        assert item["tls"], "the mail came over STARTTLS"
        assert item["authenticated"], "AUTH after STARTTLS"
        link_token(item, "confirm-password-reset")

        untrusting, log = start("tls2", trust=False)
        pb2 = PocketBase(untrusting, timeout=30)
        other = f"tls-{secrets.token_hex(5)}@example.com"
        pb2.collection("users").create({"email": other, "password": "tls password 2", "passwordConfirm": "tls password 2"})
        assert pb2.collection("users").request_password_reset(other) is True
        wait_for(lambda: "not sent" in log.read_text(), what="the node to log the refused certificate")
        with pytest.raises(AssertionError):
            mailbox.next_to(other, timeout=1)
        metrics = httpx.get(untrusting + "/metrics", timeout=10).text
        assert re.search(r'stoa_mail_total\{result="failed"\} 1', metrics), metrics
    finally:
        stop_all(processes)
        controller.stop()
        shutil.rmtree(folder, ignore_errors=True)
