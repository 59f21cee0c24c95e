"""Notifiers against real servers: SMTP (aiosmtpd in a thread, STARTTLS with a certificate made
here, AUTH) and a webhook (http.server on 127.0.0.1). The code never reaches the structured logs."""

from __future__ import annotations

import asyncio
import io
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from structlog.testing import capture_logs

from dataward.clock import FrozenClock
from dataward.identity.errors import NotificationFailed
from dataward.identity.notifiers import (
    WEBHOOK_EVENT,
    ConsoleNotifier,
    MemoryNotifier,
    Notifier,
    QueuedNotifier,
    Recipient,
    SmtpNotifier,
    WebhookNotifier,
    notifier_from_settings,
)
from dataward.rights.webhooks import verify_signature
from dataward.settings import Settings, SmtpSettings, WebhookSettings
from support import self_signed_certificate

ADA = Recipient("email", "ada@example.com")
CODE = "48151623"
SECRET = "s" * 40

# -- an SMTP server with STARTTLS and AUTH ---------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        assert isinstance(envelope.content, bytes)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"vault",
            b"pw",
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


class _Controller(Controller):
    """aiosmtpd's controller, on the port the system picked (port 0)."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A certificate for 127.0.0.1, made here, and a client context that trusts only it."""
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return Tls(server=server, client=client)


@pytest.fixture
def smtp_server(tls: Tls) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = _Controller(
        mailbox,
        hostname="127.0.0.1",
        port=0,
        tls_context=tls.server,
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def plain_smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A server that offers no STARTTLS: it must get nothing."""
    mailbox = Mailbox()
    controller = _Controller(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def smtp_settings(port: int, **overrides: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "vault@example.com",
        "username": "vault",
        "password": "pw",
        "timeout_seconds": 5.0,
    }
    return SmtpSettings(**{**values, **overrides})


def test_smtp_sends_over_starttls_with_login(smtp_server: tuple[Mailbox, int], tls: Tls) -> None:
    mailbox, port = smtp_server
    SmtpNotifier(smtp_settings(port), ssl_context=tls.client).send(ADA, CODE, 600)
    [(recipients, message)] = mailbox.messages
    assert recipients == ["ada@example.com"]
    assert message["To"] == "ada@example.com" and message["From"] == "vault@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert CODE in body.decode() and "10 minute(s)" in body.decode()
    assert CODE not in str(message["Subject"])  # a code in a subject line shows on lock screens
    assert mailbox.logins == ["vault"]


def test_smtp_refuses_a_server_without_starttls(plain_smtp_server: tuple[Mailbox, int], tls: Tls) -> None:
    mailbox, port = plain_smtp_server
    with pytest.raises(NotificationFailed, match="SMTPNotSupportedError"):
        SmtpNotifier(smtp_settings(port), ssl_context=tls.client).send(ADA, CODE, 600)
    assert mailbox.messages == []


def test_smtp_refuses_a_certificate_it_does_not_trust(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    with pytest.raises(NotificationFailed, match="SSLCertVerificationError"):
        SmtpNotifier(smtp_settings(port)).send(ADA, CODE, 600)  # the system's trust store
    assert mailbox.messages == []


def test_smtp_wrong_credentials_fail_without_quoting_anything(
    smtp_server: tuple[Mailbox, int], tls: Tls
) -> None:
    mailbox, port = smtp_server
    with pytest.raises(NotificationFailed) as error:
        SmtpNotifier(smtp_settings(port, password="wrong", timeout_seconds=1.0), ssl_context=tls.client).send(
            ADA, CODE, 600
        )
    assert "ada@" not in error.value.detail and CODE not in error.value.detail
    assert mailbox.messages == []


def test_smtp_sends_e_mail_only() -> None:
    with pytest.raises(NotificationFailed, match="e-mail only"):
        SmtpNotifier(smtp_settings(1)).send(Recipient("phone", "+442079460958"), CODE, 600)


def test_smtp_unreachable_is_a_notification_failure() -> None:
    # A port nobody listens on: bind one, close it, use it.
    import socket  # noqa: PLC0415 - only here

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NotificationFailed, match="ConnectionRefusedError"):
        SmtpNotifier(smtp_settings(port)).send(ADA, CODE, 600)


# -- a webhook receiver ---------------------------------------------------------------------------


@dataclass
class Hook:
    url: str
    received: list[tuple[dict[str, str], bytes]]
    status: list[int]
    redirect_to: list[str]


@pytest.fixture
def hook() -> Iterator[Hook]:
    received: list[tuple[dict[str, str], bytes]] = []
    status, redirect_to = [204], [""]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status[0])
            if redirect_to[0]:
                self.send_header("Location", redirect_to[0])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hook(f"http://127.0.0.1:{server.server_address[1]}/codes", received, status, redirect_to)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_webhook_posts_a_signed_code(hook: Hook) -> None:
    clock = FrozenClock(at=1_800_000_000.0)
    WebhookNotifier(WebhookSettings(url=hook.url, secret=SECRET), clock).send(
        Recipient("phone", "+442079460958"), CODE, 600
    )
    [(headers, body)] = hook.received
    document = json.loads(body)
    assert document["type"] == WEBHOOK_EVENT == headers["dataward-event"]
    assert (document["channel"], document["recipient"], document["code"]) == ("phone", "+442079460958", CODE)
    assert document["expires_in"] == 600 and CODE in document["text"]
    assert headers["idempotency-key"] == document["id"]
    signature = headers["dataward-signature"]
    assert verify_signature(SECRET.encode(), signature, body, now=clock.at)
    assert not verify_signature(b"another secret", signature, body, now=clock.at)
    assert not verify_signature(
        SECRET.encode(), signature, body.replace(CODE.encode(), b"00000000"), now=clock.at
    )
    assert not verify_signature(SECRET.encode(), signature, body, now=clock.at + 3600)  # a replay, later


def test_webhook_refusal_is_a_notification_failure(hook: Hook) -> None:
    hook.status[0] = 500
    with pytest.raises(NotificationFailed, match="500"):
        WebhookNotifier(WebhookSettings(url=hook.url, secret=SECRET), FrozenClock(0)).send(ADA, CODE, 600)


def test_webhook_does_not_follow_redirects(hook: Hook) -> None:
    hook.status[0], hook.redirect_to[0] = 307, hook.url + "/elsewhere"
    with pytest.raises(NotificationFailed, match="307"):
        WebhookNotifier(WebhookSettings(url=hook.url, secret=SECRET), FrozenClock(0)).send(ADA, CODE, 600)
    assert len(hook.received) == 1  # the code went to the configured URL only


def test_webhook_settings_refuse_plain_http_to_other_hosts_and_short_secrets() -> None:
    with pytest.raises(ValueError, match="https"):
        WebhookSettings(url="http://sms.example.com/hook", secret=SECRET)
    with pytest.raises(ValueError, match="32"):
        WebhookSettings(url="https://sms.example.com/hook", secret="short")
    assert SECRET not in repr(WebhookSettings(url="https://sms.example.com/hook", secret=SECRET))


# -- the console, the queue, and what every notifier does -----------------------------------------


def test_console_writes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    with capture_logs() as logs:
        ConsoleNotifier().send(ADA, CODE, 600)
    out, err = capsys.readouterr()
    assert CODE in err and "ada@example.com" in err
    assert out == "" and logs == []


def test_the_queue_sends_from_its_own_thread_and_flushes_on_close() -> None:
    threads: list[str] = []

    class Recording(MemoryNotifier):
        def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
            threads.append(threading.current_thread().name)
            super().send(recipient, code, expires_in)

    inner = Recording()
    queued = QueuedNotifier(inner)
    for n in range(3):
        queued.send(ADA, f"{n:08d}", 600)
    queued.close()
    assert [s.code for s in inner.sent] == ["00000000", "00000001", "00000002"]
    assert set(threads) == {"dataward-notifier"}
    with pytest.raises(NotificationFailed, match="closed"):
        queued.send(ADA, CODE, 600)


def test_the_queue_logs_failures_without_the_recipient_or_the_code() -> None:
    class Failing:
        def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
            raise NotificationFailed("the mail server did not take the message (SMTPDataError)")

    class Broken:
        def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
            raise RuntimeError(f"bug while sending {code} to {recipient.address}")

    with capture_logs() as logs:
        for inner in (Failing(), Broken()):
            queued = QueuedNotifier(inner)
            queued.send(ADA, CODE, 600)
            queued.close()
    assert [(e["event"], e["notifier"], e["error"]) for e in logs] == [
        ("notifier.failed", "Failing", "the mail server did not take the message (SMTPDataError)"),
        ("notifier.failed", "Broken", "RuntimeError"),
    ]
    assert CODE not in repr(logs) and "ada@" not in repr(logs)


def test_a_full_queue_refuses_rather_than_growing() -> None:
    gate = threading.Event()

    class Slow(MemoryNotifier):
        def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
            gate.wait(5)
            super().send(recipient, code, expires_in)

    inner = Slow()
    queued = QueuedNotifier(inner, max_pending=2)
    refused = 0
    for _ in range(5):
        try:
            queued.send(ADA, CODE, 600)
        except NotificationFailed:
            refused += 1
    gate.set()
    queued.close()
    assert refused >= 2 and len(inner.sent) == 5 - refused


def test_a_recipient_keeps_its_address_out_of_reprs() -> None:
    assert "ada@" not in repr(ADA) and "ada@" not in repr(MemoryNotifier().sent)


# The same promise from every notifier: the code reaches the recipient, as given.
Delivered = Callable[[], tuple[str, str]]  # -> (address, text that holds the code)


@pytest.fixture(params=["memory", "console", "smtp", "webhook"])
def delivery(
    request: pytest.FixtureRequest,
    smtp_server: tuple[Mailbox, int],
    hook: Hook,
    tls: Tls,
) -> tuple[Notifier, Delivered]:
    if request.param == "memory":
        memory = MemoryNotifier()
        return memory, lambda: (memory.sent[0].recipient.address, memory.sent[0].code)
    if request.param == "console":
        stream = io.StringIO()

        def written() -> tuple[str, str]:
            found = re.search(r"for email (\S+): ", stream.getvalue())
            return (found.group(1) if found else "", stream.getvalue())

        return ConsoleNotifier(stream), written
    if request.param == "smtp":
        mailbox, port = smtp_server

        def mailed() -> tuple[str, str]:
            [(to, message)] = mailbox.messages
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return to[0], payload.decode()

        return SmtpNotifier(smtp_settings(port), ssl_context=tls.client), mailed
    webhook = WebhookNotifier(WebhookSettings(url=hook.url, secret=SECRET), FrozenClock(0))

    def posted() -> tuple[str, str]:
        document = json.loads(hook.received[0][1])
        return document["recipient"], document["code"]

    return webhook, posted


def test_every_notifier_delivers_the_code_to_the_recipient(delivery: tuple[Notifier, Delivered]) -> None:
    notifier, delivered = delivery
    with capture_logs() as logs:
        notifier.send(ADA, CODE, 600)
    address, text = delivered()
    assert address == "ada@example.com" and CODE in text
    assert CODE not in repr(logs)


# -- settings ---------------------------------------------------------------------------------------


def test_settings_choose_the_notifier(tmp_path: Path) -> None:
    env = {
        "DATAWARD_NOTIFIER": "smtp",
        "DATAWARD_SMTP_HOST": "mail.example.com",
        "DATAWARD_SMTP_PORT": "2525",
        "DATAWARD_SMTP_FROM": "privacy@example.com",
        "DATAWARD_SMTP_USERNAME": "vault",
        "DATAWARD_SMTP_PASSWORD": "hunter2-hunter2",
    }
    settings = Settings.load(tmp_path, env)
    assert settings.smtp == SmtpSettings(
        host="mail.example.com",
        sender="privacy@example.com",
        port=2525,
        username="vault",
        password="hunter2-hunter2",
    )
    assert "hunter2" not in repr(settings)
    assert isinstance(notifier_from_settings(settings, FrozenClock(0)), SmtpNotifier)

    hooked = Settings.load(
        tmp_path,
        {
            "DATAWARD_NOTIFIER": "webhook",
            "DATAWARD_WEBHOOK_URL": "https://sms.example.com/codes",
            "DATAWARD_WEBHOOK_SECRET": SECRET,
        },
    )
    assert isinstance(notifier_from_settings(hooked, FrozenClock(0)), WebhookNotifier)
    assert SECRET not in repr(hooked)
    assert isinstance(notifier_from_settings(Settings.load(tmp_path, {}), FrozenClock(0)), ConsoleNotifier)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATAWARD_NOTIFIER": "carrier-pigeon"}, "DATAWARD_NOTIFIER must be one of"),
        ({"DATAWARD_NOTIFIER": "smtp"}, "DATAWARD_NOTIFIER=smtp needs"),
        ({"DATAWARD_NOTIFIER": "webhook"}, "DATAWARD_NOTIFIER=webhook needs"),
        ({"DATAWARD_SMTP_HOST": "mail.example.com"}, "DATAWARD_SMTP_FROM is not set"),
        (
            {"DATAWARD_SMTP_HOST": "m", "DATAWARD_SMTP_FROM": "a@b.cd", "DATAWARD_SMTP_PORT": "x"},
            "DATAWARD_SMTP_PORT",
        ),
        ({"DATAWARD_WEBHOOK_URL": "http://sms.example.com", "DATAWARD_WEBHOOK_SECRET": SECRET}, "https"),
        ({"DATAWARD_CHALLENGE_TTL": "5"}, "challenge_ttl_seconds"),
        ({"DATAWARD_CHALLENGE_ATTEMPTS": "100"}, "challenge_max_attempts"),
        ({"DATAWARD_SUBJECT_TOKEN_TTL": "86400"}, "subject_token_ttl_seconds"),
    ],
)
def test_settings_name_what_is_wrong(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.load(tmp_path, env)
