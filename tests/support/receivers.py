"""Real local servers for the outbox tests: an HTTP webhook receiver that checks the HMAC
signature the way docs/api.md tells receivers to, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    event: str
    delivery_id: str
    timestamp: str
    signature_valid: bool
    body: dict
    status: int  # what the receiver answered
    raw: bytes = b""
    headers: dict | None = None


class Receiver:
    """A webhook receiver on 127.0.0.1:<free port>.

    `answers` is the list of HTTP statuses to give, one per request (then 200). `hold`, when
    set to a threading.Event, makes each request wait for it before answering."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.secret = ""
        self.deliveries: list[Delivery] = []
        self.arrived = threading.Event()
        self.hold: threading.Event | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/smartsite?src=test"

    def verify(self, timestamp: str, body: bytes, signature: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def ok(self) -> list[Delivery]:
        return [d for d in self.deliveries if 200 <= d.status < 300]

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stamp = self.headers.get("X-Smartsite-Timestamp", "")
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.deliveries.append(Delivery(
                    event=self.headers.get("X-Smartsite-Event", ""),
                    delivery_id=self.headers.get("X-Smartsite-Delivery", ""),
                    timestamp=stamp,
                    signature_valid=receiver.verify(
                        stamp, body, self.headers.get("X-Smartsite-Signature", "")),
                    body=json.loads(body), status=status, raw=body,
                    headers=dict(self.headers.items())))
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                answer = b'{"ok": true}' if status < 300 else "接收方出错".encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender went away (the kill -9 test)

            def log_message(self, *args):
                pass

        return Handler


class Inbox:
    """aiosmtpd handler that keeps what it is given."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1:<free port>, in its own thread."""

    def __init__(self):
        from aiosmtpd.smtp import SMTP

        self.inbox = Inbox()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # started from the loop's own thread: this one may hold a browser's (Playwright's) loop
        self.server = asyncio.run_coroutine_threadsafe(self.loop.create_server(
            lambda: SMTP(self.inbox, hostname="smtp.test", loop=self.loop), "127.0.0.1", 0),
            self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def stop():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
