"""How a one-time code reaches a data subject: by e-mail (SMTP, always upgraded with STARTTLS),
through a signed webhook (an SMS or chat gateway of the team's), or on the console in development.

A code appears in one place only: the message to its recipient (in development, stderr). Never in
the structured logs: a failure is logged with the notifier's kind and the error's class, nothing of
the recipient or the code. `QueuedNotifier` sends from a thread of its own, so the time a request
takes does not tell whether a code was sent (which would tell who is in the vault).

    Notifier (Protocol)   send(recipient, code, expires_in), or raise NotificationFailed
    ├── ConsoleNotifier   development: writes to stderr
    ├── SmtpNotifier      smtplib, STARTTLS (never plain text), optional login
    ├── WebhookNotifier   httpx POST, signed as `dataward.rights.webhooks` signs (Dataward-Signature)
    ├── MemoryNotifier    in memory, for tests
    └── QueuedNotifier    wraps another: a worker thread and a bounded queue
"""

from __future__ import annotations

import json
import queue
import smtplib
import ssl
import sys
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal, Protocol, TextIO

import httpx
import structlog

from dataward.clock import Clock
from dataward.identity.errors import NotificationFailed
from dataward.rights.webhooks import webhook_headers
from dataward.settings import Settings, SmtpSettings, WebhookSettings

__all__ = [
    "WEBHOOK_EVENT",
    "Channel",
    "ConsoleNotifier",
    "MemoryNotifier",
    "Notifier",
    "QueuedNotifier",
    "Recipient",
    "SentCode",
    "SmtpNotifier",
    "WebhookNotifier",
    "notifier_from_settings",
]

log = structlog.get_logger(__name__)

Channel = Literal["email", "phone"]
WEBHOOK_EVENT = "subject.one_time_code"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a code goes: an e-mail address or a phone number (E.164), as the vault holds it."""

    channel: Channel
    address: str = field(repr=False)  # personal data: kept out of reprs and tracebacks


class Notifier(Protocol):
    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        """Deliver `code` (valid for `expires_in` seconds) to `recipient`; `NotificationFailed` if not."""
        ...


def _text(code: str, expires_in: int) -> str:
    minutes = max(1, expires_in // 60)
    return (
        f"Your verification code is {code}. It expires in {minutes} minute(s).\n\n"
        "If you did not ask for it, ignore this message: nobody can use it without the code."
    )


class ConsoleNotifier:
    """For development: writes the code to stderr (or `stream`), the only place it then appears."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        stream = self._stream or sys.stderr
        stream.write(
            f"dataward: one-time code for {recipient.channel} {recipient.address}: {code} "
            f"(expires in {expires_in} s)\n"
        )
        stream.flush()


@dataclass(frozen=True, slots=True)
class SentCode:
    recipient: Recipient
    code: str = field(repr=False)
    expires_in: int


class MemoryNotifier:
    """Keeps what it was asked to send, in order, in `sent`."""

    def __init__(self) -> None:
        self.sent: list[SentCode] = []

    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        self.sent.append(SentCode(recipient, code, expires_in))


class SmtpNotifier:
    """Mails codes through an SMTP submission server. The connection is upgraded with STARTTLS
    before anything else is said (a server that does not offer it gets nothing), and the server's
    certificate is checked against `ssl_context` (the system's trust store by default)."""

    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._context = ssl_context or ssl.create_default_context()

    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        if recipient.channel != "email":
            raise NotificationFailed("the SMTP notifier sends e-mail only")
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = recipient.address
        message["Subject"] = "Your verification code"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        message.set_content(_text(code, expires_in))
        settings = self._settings
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
                smtp.starttls(context=self._context)
                smtp.ehlo()  # again, over TLS: the server may offer AUTH only now
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            # The class only: an SMTP error's text can quote the recipient.
            reason = f"the mail server did not take the message ({type(exc).__name__})"
            raise NotificationFailed(reason) from None


class WebhookNotifier:
    """POSTs each code as JSON to the team's endpoint (an SMS or chat gateway), signed with the
    shared secret in the `Dataward-Signature` header, the scheme of processor webhooks
    (`dataward.rights.webhooks.verify_signature` checks it). Redirects are not followed."""

    def __init__(
        self, settings: WebhookSettings, clock: Clock, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._transport = transport

    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        event_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "id": event_id,
                "type": WEBHOOK_EVENT,
                "channel": recipient.channel,
                "recipient": recipient.address,
                "code": code,
                "expires_in": expires_in,
                "text": _text(code, expires_in),
            }
        ).encode()
        headers = webhook_headers(
            event_id=event_id, kind=WEBHOOK_EVENT, secret=self._settings.secret.encode(), body=body,
            timestamp=int(self._clock.timestamp()),
        )  # fmt: skip
        try:
            with httpx.Client(
                transport=self._transport, timeout=self._settings.timeout_seconds, follow_redirects=False
            ) as client:
                response = client.post(self._settings.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NotificationFailed(f"the webhook could not be reached ({type(exc).__name__})") from None
        if not response.is_success:
            raise NotificationFailed(f"the webhook answered {response.status_code}")


class QueuedNotifier:
    """Sends through `inner` from a worker thread, so a request never waits for a mail server, and
    its time says nothing about whether a code went out. The queue is bounded: past `max_pending`
    codes waiting, `send` raises `NotificationFailed` rather than holding memory for a flood."""

    def __init__(self, inner: Notifier, max_pending: int = 1000) -> None:
        self._inner = inner
        self._kind = type(inner).__name__
        self._queue: queue.Queue[tuple[Recipient, str, int] | None] = queue.Queue(max_pending)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._closed = False

    def send(self, recipient: Recipient, code: str, expires_in: int) -> None:
        with self._lock:
            if self._closed:
                raise NotificationFailed("the notifier is closed")
            if self._worker is None:  # started on first use: CLI commands never need it
                self._worker = threading.Thread(target=self._run, name="dataward-notifier", daemon=True)
                self._worker.start()
        try:
            self._queue.put_nowait((recipient, code, expires_in))
        except queue.Full:
            raise NotificationFailed("too many codes are waiting to be sent") from None

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (for at most `timeout` seconds), then stop the worker."""
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            recipient, code, expires_in = item
            try:
                self._inner.send(recipient, code, expires_in)
            except NotificationFailed as exc:
                log.warning("notifier.failed", notifier=self._kind, error=exc.detail)
            except Exception as exc:  # noqa: BLE001 - a bug in one delivery must not stop the rest
                log.warning("notifier.failed", notifier=self._kind, error=type(exc).__name__)


def notifier_from_settings(settings: Settings, clock: Clock) -> Notifier:
    """The notifier `DATAWARD_NOTIFIER` names, unqueued."""
    if settings.notifier == "smtp" and settings.smtp is not None:
        return SmtpNotifier(settings.smtp)
    if settings.notifier == "webhook" and settings.webhook is not None:
        return WebhookNotifier(settings.webhook, clock)
    return ConsoleNotifier()
