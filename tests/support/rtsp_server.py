"""A small RTSP server on loopback that serves a generated test pattern, for tests/video.

It speaks real RTSP 1.0 (OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN) with Basic
authentication, and sends RTP over the RTSP connection (TCP interleaved, RFC 2326 §10.12).
The media is an MPEG transport stream (RTP payload type 33, MP2T, RFC 2250) that a real
ffmpeg makes from a lavfi source (SMPTE colour bars, H.264), one ffmpeg per PLAY, paced in
real time (-re). ffmpeg's own RTSP *listen* mode only accepts a publisher, hence this relay.

    server = RtspServer(user="admin", password="s3cret").start()
    server.url("cam1")              # rtsp://127.0.0.1:<port>/cam1 (no credentials)
    ...
    server.stop()                   # closes every session and kills every ffmpeg it ran
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time

TS_PACKET = 188
RTP_CHUNK = 7 * TS_PACKET  # 1316 bytes: seven TS packets per RTP packet (fits an MTU)

#: The SMPTE bars' seven top colours (75 % bars), left to right, as 8-bit RGB.
SMPTE_BARS = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191),
              (191, 0, 0), (0, 0, 191)]


def source_argv(width: int = 320, height: int = 240, rate: int = 25) -> list[str]:
    """The ffmpeg that makes the stream: SMPTE bars as H.264 in MPEG-TS on stdout, one
    keyframe a second."""
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"smptebars=size={width}x{height}:rate={rate}",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", str(rate), "-bf", "0",
            "-f", "mpegts", "-muxdelay", "0", "-"]


class RtspServer:
    """Serves every path as the same live test pattern."""

    def __init__(self, *, user: str = "", password: str = "", host: str = "127.0.0.1"):
        self.user, self.password, self.host = user, password, host
        self.port = 0
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._procs: set[subprocess.Popen] = set()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, url) as received
        self.plays = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> RtspServer:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="rtsp-accept").start()
        return self

    def url(self, path: str = "stream") -> str:
        return f"rtsp://{self.host}:{self.port}/{path}"

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            conns, procs = list(self._conns), list(self._procs)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        for proc in procs:
            _kill(proc)

    @property
    def streaming(self) -> int:
        """How many sessions are playing now."""
        with self._lock:
            return sum(1 for p in self._procs if p.poll() is None)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="rtsp-session").start()

    # ------------------------------------------------------------ one connection

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        write_lock = threading.Lock()
        session = f"{random.randrange(16**8):08X}"
        proc: subprocess.Popen | None = None
        try:
            while not self._stopping.is_set():
                first = reader.read(1)
                if not first:
                    return
                if first == b"$":  # interleaved RTCP from the client: skip it
                    header = reader.read(3)
                    if len(header) < 3:
                        return
                    (length,) = struct.unpack("!H", header[1:])
                    reader.read(length)
                    continue
                line = first + reader.readline()
                method, url, _ = ([*line.decode("latin-1").strip().split(" ", 2), "", ""])[:3]
                headers = {}
                while True:
                    raw = reader.readline()
                    if not raw or raw in (b"\r\n", b"\n"):
                        break
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length", 0) or 0):
                    reader.read(int(headers["content-length"]))
                self.requests.append((method, url))
                cseq = headers.get("cseq", "0")
                reply = self._handle(method, url, headers, session)
                status, extra, body = reply
                out = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", "Server: smartsite-test-rtsp"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                payload = body.encode()
                if payload:
                    out.append(f"Content-Length: {len(payload)}")
                data = ("\r\n".join(out) + "\r\n\r\n").encode() + payload
                with write_lock:
                    conn.sendall(data)
                if method == "PLAY" and status.startswith("200") and proc is None:
                    proc = subprocess.Popen(source_argv(), stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
                    with self._lock:
                        self._procs.add(proc)
                        self.plays += 1
                    threading.Thread(target=self._pump, args=(proc, conn, write_lock),
                                     daemon=True, name="rtsp-rtp").start()
                if method == "TEARDOWN":
                    return
        except OSError:
            return
        finally:
            if proc is not None:
                _kill(proc)
                with self._lock:
                    self._procs.discard(proc)
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _authorised(self, headers) -> bool:
        if not self.user:
            return True
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.user, self.password)

    def _handle(self, method: str, url: str, headers: dict, session: str):
        if method == "OPTIONS":
            return "200 OK", {"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, "
                                        "TEARDOWN"}, ""
        if not self._authorised(headers):
            return "401 Unauthorized", {"WWW-Authenticate": 'Basic realm="test camera"'}, ""
        if method == "DESCRIBE":
            sdp = "\r\n".join([
                "v=0", f"o=- 1 1 IN IP4 {self.host}", "s=smartsite test pattern",
                f"c=IN IP4 {self.host}", "t=0 0", "a=control:*",
                "m=video 0 RTP/AVP 33", "a=rtpmap:33 MP2T/90000", "a=control:track0", ""])
            base = url if url.endswith("/") else url + "/"
            return "200 OK", {"Content-Base": base, "Content-Type": "application/sdp"}, sdp
        if method == "SETUP":
            transport = headers.get("transport", "")
            if "RTP/AVP/TCP" not in transport:
                return "461 Unsupported Transport", {}, ""
            return "200 OK", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1",
                              "Session": f"{session};timeout=60"}, ""
        if method == "PLAY":
            return "200 OK", {"Session": session, "Range": "npt=0.000-"}, ""
        if method in ("GET_PARAMETER", "SET_PARAMETER", "TEARDOWN"):
            return "200 OK", {"Session": session}, ""
        return "405 Method Not Allowed", {}, ""

    def _pump(self, proc: subprocess.Popen, conn: socket.socket, write_lock) -> None:
        """ffmpeg's transport stream → RTP packets on interleaved channel 0."""
        ssrc = random.randrange(2**32)
        start = time.monotonic()
        stdout = proc.stdout
        for seq in itertools.count():
            chunk = stdout.read(RTP_CHUNK)
            if not chunk:
                return
            stamp = int((time.monotonic() - start) * 90_000) & 0xFFFFFFFF
            rtp = struct.pack("!BBHII", 0x80, 33, seq & 0xFFFF, stamp, ssrc) + chunk
            try:
                with write_lock:
                    conn.sendall(b"$\x00" + struct.pack("!H", len(rtp)) + rtp)
            except OSError:
                _kill(proc)
                return


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    if proc.stdout is not None:
        with contextlib.suppress(OSError):
            proc.stdout.close()
