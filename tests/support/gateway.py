"""The HJ 212 gateway as a real process on a real port, and simulated monitors talking to it
over real sockets (tests/hj212)."""

from __future__ import annotations

import datetime
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from smartsite.hj212 import codec
from support.db import database_url

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class GatewayProcess:
    """`smartsite gateway --port 0` against the test database; `port` once it listens."""

    def __init__(self, tmp_path, *, mqtt: bool = False, db_url: str | None = None, **settings):
        self.env = {**os.environ, "SMARTSITE_DATABASE_URL": db_url or database_url(),
                    "SMARTSITE_DATA_DIR": str(tmp_path), "SMARTSITE_HJ212_STATUS_SECONDS": "1",
                    "SMARTSITE_LOG_LEVEL": "INFO"}
        self.env.update({f"SMARTSITE_{k.upper()}": str(v) for k, v in settings.items()})
        self.mqtt = mqtt
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log: list[str] = []

    def start(self, port: int = 0) -> GatewayProcess:
        argv = [sys.executable, "-m", "smartsite.cli", "gateway", "--host", "127.0.0.1",
                "--port", str(port)]
        if not self.mqtt:
            argv.append("--no-mqtt")
        self.proc = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("gateway exited:\n" + "".join(self.log))
            self.log.append(line)
            found = re.search(r"TCP 127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("gateway did not start:\n" + "".join(self.log))

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode

    def output(self) -> str:
        return "".join(self.log)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class Device:
    """A simulated monitor: one TCP connection, packets out, acknowledgements in."""

    def __init__(self, port: int, mn: str, pw: str = "123456", *, source: str | None = None) -> None:
        """`source`: the local address to connect from (any of 127.0.0.0/8: another host)."""
        self.mn, self.pw = mn, pw
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(source, 0) if source else None)
        self.decoder = codec.Decoder()
        self.acks: list[codec.Packet] = []

    def packet(self, at: datetime.datetime, *, pm10: float = 80.0, cn: str = "2011",
               pw: str | None = None, flag: int = 5, **extra) -> codec.Packet:
        values = {"a34002": {"Rtd": pm10, "Flag": "N"}, "a34004": {"Rtd": round(pm10 / 2, 1),
                                                                   "Flag": "N"},
                  "LA": {"Rtd": 58.5, "Flag": "N"}, **extra}
        if cn != "2011":
            values = {code: {("Avg" if k == "Rtd" else k): v for k, v in f.items()}
                      for code, f in values.items()}
        return codec.data_packet(mn=self.mn, pw=pw or self.pw, cn=cn,
                                 data_time=at.astimezone(SHANGHAI).replace(tzinfo=None),
                                 values=values, flag=flag,
                                 qn=codec.make_qn(at.astimezone(SHANGHAI).replace(tzinfo=None)))

    def send(self, *packets: codec.Packet) -> None:
        self.sock.sendall(b"".join(codec.encode(p) for p in packets))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_acks(self, n: int, timeout: float = 20) -> list[codec.Packet]:
        """Wait until `n` acknowledgements in all have arrived (fewer if the time runs out)."""
        deadline = time.monotonic() + timeout
        while len(self.acks) < n and time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            data = self.sock.recv(65536)
            if not data:
                break
            self.acks.extend(e for e in self.decoder.feed(data) if isinstance(e, codec.Packet))
        return self.acks

    def closed_by_peer(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                try:
                    if not self.sock.recv(65536):
                        return True
                except ConnectionResetError:
                    return True
        return False

    def close(self) -> None:
        self.sock.close()


def wait_for(predicate, timeout: float = 20, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()
