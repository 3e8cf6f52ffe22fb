"""A small local "public-security face database" (公安人脸库) speaking the identity protocol
(docs/attendance-identity.md), for tests and the demo. It holds resident id → reference photo
encodings and compares a posted photo with the dlib code the product uses
(`smartsite.attendance.faces`). The product never imports this module: it only knows the
protocol (`smartsite.attendance.identity.HttpIdentitySource`).

    server = IdentityService({"310101…": photo_bytes}, token="t").start()
    server.url  # http://127.0.0.1:<port>
    server.stop()

or `python -m smartsite.simulator.identity_service --port 8731 310101…=path/to/photo.jpg …`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from smartsite.attendance import faces

PATH = "/v1/face-compare"
MAX_BODY = 8 * 1024 * 1024
MAX_PHOTO = 5 * 1024 * 1024
THRESHOLD = 0.6


class IdentityService:
    def __init__(self, records: dict[str, bytes] | None = None, *, token: str = "",
                 threshold: float = THRESHOLD, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.threshold = threshold
        self.encodings: dict[str, tuple[float, ...]] = {}
        self.requests = 0
        for resident_id, photo in (records or {}).items():
            self.add(resident_id, photo)
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    def add(self, resident_id: str, photo: bytes) -> None:
        """Put a reference photo on record (it must show exactly one face)."""
        self.encodings[resident_id] = faces.encode(photo, max_bytes=MAX_PHOTO).encoding

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> IdentityService:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="identity-service")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> IdentityService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def answer(self, body: bytes, authorization: str) -> tuple[int, dict]:
        """(HTTP status, JSON answer) for one request body: the protocol's server side."""
        self.requests += 1
        if self.token and authorization != f"Bearer {self.token}":
            return 401, {"result": "error", "message": "令牌无效"}
        try:
            data = json.loads(body)
            resident_id = data["resident_id"]
            photo = base64.b64decode(data["photo_base64"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return 400, {"result": "error", "message": "请求应为 JSON：resident_id 与 photo_base64"}
        if not isinstance(resident_id, str):
            return 400, {"result": "error", "message": "resident_id 应为字符串"}
        reference = self.encodings.get(resident_id)
        if reference is None:
            return 404, {"result": "no_record", "message": "无该身份证号的照片"}
        try:
            face = faces.encode(photo, max_bytes=MAX_PHOTO)
        except faces.PhotoRejected as exc:
            return 422, {"result": "error", "message": exc.message}
        distance = faces.distance(face.encoding, reference)
        return 200, {"result": "matched" if distance <= self.threshold else "mismatch",
                     "distance": round(distance, 4), "threshold": self.threshold}

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if self.path != PATH:
                    return self._send(404, {"result": "error", "message": "未知路径"})
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return self._send(413, {"result": "error", "message": "请求过大"})
                status, answer = service.answer(self.rfile.read(length),
                                                self.headers.get("Authorization", ""))
                return self._send(status, answer)

            def _send(self, status: int, answer: dict) -> None:
                body = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="本地模拟公安人脸库（测试与演示用）")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--token", default="")
    parser.add_argument("records", nargs="*", help="身份证号=照片路径")
    args = parser.parse_args(argv)
    records = {}
    for item in args.records:
        resident_id, _, path = item.partition("=")
        records[resident_id] = Path(path).read_bytes()
    service = IdentityService(records, token=args.token, host=args.host, port=args.port)
    print(f"公安人脸库（模拟）：{service.url}{PATH}，{len(records)} 条记录", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        service._server.serve_forever()


if __name__ == "__main__":
    main()
