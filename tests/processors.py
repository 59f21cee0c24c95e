"""A processor's webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks every
signature as a processor would (`verify_signature`, at the time of receipt) and answers each
event's attempts by a script, so retries can be seen to end in exactly one acceptance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dataward.clock import FrozenClock
from dataward.policy import Policy
from dataward.policy.models import Webhook
from dataward.rights.webhooks import verify_signature

__all__ = ["RESPONSE_BODY", "SECRETS", "Received", "Receiver", "serve_receiver", "with_webhooks"]

SECRETS = {"MAILER_WEBHOOK_SECRET": "whsec-mailer-1", "PAYMENTS_WEBHOOK_SECRET": "whsec-payments-1"}
RESPONSE_BODY = b"receiver-says-something-private"  # must never reach the outbox table


@dataclass(frozen=True)
class Received:
    processor: str
    key: str
    event: str
    signature: str
    body: bytes
    valid: bool
    answer: str  # 503 | drop | ok


@dataclass
class Receiver:
    """Answers each event's attempts by `script` (the last entry repeats), and remembers them all."""

    clock: FrozenClock
    url: str = ""
    script: list[str] = field(default_factory=lambda: ["ok"])
    delay: float = 0.0
    on_request: Callable[[], None] | None = None
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        processor = handler.path.strip("/")
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        key = handler.headers["Idempotency-Key"]
        signature = handler.headers["Dataward-Signature"]
        secret = SECRETS[f"{processor.upper()}_WEBHOOK_SECRET"].encode()
        valid = verify_signature(secret, signature, body, now=self.clock.timestamp())
        if self.on_request is not None:
            self.on_request()
        time.sleep(self.delay)  # a slow processor, to widen any race between workers
        with self._lock:
            seen = sum(1 for r in self.received if r.key == key)
            answer = self.script[min(seen, len(self.script) - 1)]
            self.received.append(
                Received(processor, key, handler.headers["Dataward-Event"], signature, body, valid, answer)
            )
        if answer == "drop":
            handler.close_connection = True  # hang up without a word
            return
        handler.send_response(200 if answer == "ok" else int(answer))
        handler.send_header("Content-Length", str(len(RESPONSE_BODY)))
        handler.end_headers()
        handler.wfile.write(RESPONSE_BODY)

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.answer == "ok"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.receiver.answer(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def with_webhooks(
    policy: Policy, receiver: Receiver, names: tuple[str, ...] = ("mailer", "payments")
) -> Policy:
    """The example policy (mailer: marketing; payments: billing), with webhooks to the receiver."""
    processors = {
        name: p.model_copy(
            update={
                "webhook": Webhook(url=f"{receiver.url}/{name}", secret_env=f"{name.upper()}_WEBHOOK_SECRET")
            }
        )
        if name in names
        else p
        for name, p in policy.processors.items()
    }
    return policy.model_copy(update={"processors": processors})


def serve_receiver(clock: FrozenClock) -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 until the generator is closed (use as a fixture's body)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(clock=clock, url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server.receiver
    server.shutdown()
    server.server_close()
    thread.join()
