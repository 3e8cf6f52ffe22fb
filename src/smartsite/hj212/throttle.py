"""Wrong HJ 212 passwords: back-off per MN, closing per peer (docs/hj212.md, "Wrong passwords").

A PW is at most six characters — six digits on most devices, a million tries. Without a limit
the key space falls in seconds to anyone who can reach the port, and they can then forge that
site's readings. So:

* **per MN** — `mn_failures` wrong PWs within `window` seconds lock the MN for `lock` seconds;
  each lock after that (while failures keep coming) doubles, up to `max_lock`. While an MN is
  locked its PW is not checked at all: a packet naming it is refused (密码错误过多已锁定)
  unless it arrives on a connection that has already proved the right PW, so the device that
  is connected keeps reporting while nobody can go on guessing — or from a host that showed
  this MN's right PW within `trust` seconds (the last `trusted_hosts` such hosts per MN) and
  has not itself sent `mn_failures` wrong PWs for it within the window: the genuine device
  that lost its connection comes back from its own address even while someone who knows only
  the MN keeps re-locking it. A packet for a locked MN from any other host counts toward that
  host's limits below like a wrong PW (polling a lock is not free).
* **per peer** — a connection is closed after `connection_failures` wrong PWs, and a host with
  `peer_failures` wrong PWs within `window` is refused at connect until the window has passed —
  unless a right PW also came from that host within the window: devices share addresses (a
  site's router, the carrier's NAT, a vendor platform forwarding many sites), and one
  misconfigured logger or guesser among them must not cut off every other device there. Such a
  host's guesses are still cut short per connection and per MN.
  MQTT has one peer (the broker), so only the per-MN rule applies there.

Pure bookkeeping over an injected clock (seconds, monotonic): no I/O, no Django.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Thresholds:
    mn_failures: int = 5
    peer_failures: int = 20
    connection_failures: int = 3
    window: float = 600.0
    lock: float = 60.0
    max_lock: float = 3600.0
    trust: float = 86400.0
    trusted_hosts: int = 8
    shared_interval: float = 10.0  # a proven host that also guesses: one PW check per this

    @classmethod
    def from_settings(cls) -> Thresholds:
        from django.conf import settings

        return cls(mn_failures=settings.HJ212_PW_MN_FAILURES,
                   peer_failures=settings.HJ212_PW_PEER_FAILURES,
                   connection_failures=settings.HJ212_PW_CONNECTION_FAILURES,
                   window=settings.HJ212_PW_WINDOW_SECONDS, lock=settings.HJ212_PW_LOCK_SECONDS,
                   max_lock=settings.HJ212_PW_MAX_LOCK_SECONDS,
                   trust=settings.HJ212_PW_TRUST_SECONDS,
                   shared_interval=settings.HJ212_PW_SHARED_SECONDS)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one wrong PW leads to: `locked_now` (this failure locked the MN, for `lock_for`
    seconds), `close` (the connection it came on should be closed)."""

    locked_now: bool = False
    lock_for: float = 0.0
    close: bool = False


class PasswordGuard:
    def __init__(self, thresholds: Thresholds | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.t = thresholds or Thresholds()
        self.clock = clock
        self._mn: dict[str, collections.deque] = {}  # MN → times of recent wrong PWs
        self._peer: dict[str, collections.deque] = {}  # host → the same
        self._locked: dict[str, float] = {}  # MN → locked until
        self._good: dict[str, float] = {}  # host → when a right PW last came from it
        self._next_lock: dict[str, float] = {}  # MN → length of its next lock
        # MN → {host: when it last showed the MN's right PW}, oldest first, at most
        # `trusted_hosts` per MN (only registered MNs reach here with a right PW: bounded)
        self._proven: dict[str, dict[str, float]] = {}
        self._pair: dict[tuple[str, str], collections.deque] = {}  # (MN, proven host) → wrong PWs
        self._slot: dict[tuple[str, str], float] = {}  # (MN, guessing proven host) → last check
        self.failures = 0  # wrong PWs seen
        self.locks = 0  # locks imposed
        self.polls = 0  # packets for a locked MN refused without looking at their PW (TCP)

    def _recent(self, table: dict, key, now: float) -> collections.deque:
        times = table.get(key)
        if times is None:
            times = table[key] = collections.deque()
        while times and now - times[0] > self.t.window:
            times.popleft()
        return times

    def locked(self, mn: str) -> float:
        """Seconds the MN stays locked (0 when it is not)."""
        until = self._locked.get(mn)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self._locked[mn]
            return 0.0
        return left

    def success(self, host: str, mn: str | None = None) -> None:
        """A right PW (for `mn`) came from `host` (on a connection that had not shown one
        before)."""
        now = self.clock()
        self._good[host] = now
        if mn is None:
            return
        hosts = self._proven.setdefault(mn, {})
        hosts.pop(host, None)
        hosts[host] = now  # the newest last
        while len(hosts) > self.t.trusted_hosts:
            del hosts[next(iter(hosts))]

    def remember(self, mn: str, host: str, age: float) -> None:
        """`host` showed `mn`'s right PW `age` seconds ago (the connection history a restarted
        gateway reads back: a lock imposed right after a restart must not keep out the device
        that reported from there a minute before)."""
        if age > self.t.trust:
            return
        at = self.clock() - age
        hosts = self._proven.get(mn, {})
        if hosts.get(host, -float("inf")) >= at:
            return
        hosts = {**hosts, host: at}
        newest = sorted(hosts.items(), key=lambda item: item[1])[-self.t.trusted_hosts:]
        self._proven[mn] = dict(newest)  # oldest first, as `success` keeps them

    def trusted(self, mn: str, host: str | None) -> bool:
        """Whether `host` is let through `mn`'s lock: it showed the right PW for `mn` within
        `trust` and has not itself sent `mn_failures` wrong PWs for it within the window."""
        if host is None:
            return False  # MQTT: the one peer is the broker, every device's
        at = self._proven.get(mn, {}).get(host)
        now = self.clock()
        if at is None or now - at > self.t.trust:
            return False
        wrong = self._pair.get((mn, host))
        if wrong is None or len(self._recent(self._pair, (mn, host), now)) < self.t.mn_failures:
            return True
        # the address also guesses (a misconfigured logger or a guesser behind the device's
        # NAT): one PW check per `shared_interval`, so the device still gets back in within
        # seconds while guessing from there is slowed to a crawl
        if now - self._slot.get((mn, host), -math.inf) < self.t.shared_interval:
            return False
        self._slot[(mn, host)] = now
        return True

    def locked_out(self, mn: str, host: str | None, on_connection: int) -> Verdict:
        """A packet for locked `mn` from `host`, not let through: it counts toward the host's
        limits as a wrong PW does (`on_connection` counts this one too), unless the host did
        show the MN's right PW once (a device behind the same address as a guesser)."""
        if host is None:
            return Verdict()
        now = self.clock()
        self.polls += 1
        if host not in self._proven.get(mn, {}):
            self._recent(self._peer, host, now).append(now)
        return Verdict(close=on_connection >= self.t.connection_failures
                       or self.peer_blocked(host))

    def peer_blocked(self, host: str) -> bool:
        """Whether a new connection from `host` is refused (too many wrong PWs lately, and no
        right one: a host that genuine devices report from is never refused as a whole)."""
        if host not in self._peer:
            return False
        now = self.clock()
        good = self._good.get(host)
        if good is not None and now - good <= self.t.window:
            return False
        return len(self._recent(self._peer, host, now)) >= self.t.peer_failures

    def failure(self, mn: str, host: str | None, on_connection: int) -> Verdict:
        """Record a wrong PW for `mn` from `host` (None: MQTT); `on_connection` counts the wrong
        PWs on the connection so far, this one included."""
        now = self.clock()
        self.failures += 1
        if host is not None:
            self._recent(self._peer, host, now).append(now)
            if host in self._proven.get(mn, {}):
                self._recent(self._pair, (mn, host), now).append(now)
        times = self._recent(self._mn, mn, now)
        times.append(now)
        close = host is not None and (on_connection >= self.t.connection_failures
                                      or self.peer_blocked(host))
        if len(times) < self.t.mn_failures or self.locked(mn):
            return Verdict(close=close)
        length = min(self._next_lock.get(mn, self.t.lock), self.t.max_lock)
        self._locked[mn] = now + length
        self._next_lock[mn] = min(length * 2, self.t.max_lock)
        times.clear()  # the next lock needs as many failures again
        self.locks += 1
        return Verdict(locked_now=True, lock_for=length, close=host is not None)

    def forget(self) -> None:
        """Drop the state that no longer matters (called now and then by the gateway)."""
        now = self.clock()
        for table in (self._mn, self._peer, self._pair):
            for key in [k for k, times in table.items()
                        if not times or now - times[-1] > self.t.window]:
                del table[key]
        for host in [h for h, at in self._good.items() if now - at > self.t.window]:
            del self._good[host]
        for key in [k for k, at in self._slot.items() if now - at > self.t.window]:
            del self._slot[key]
        for mn, hosts in list(self._proven.items()):
            for host in [h for h, at in hosts.items() if now - at > self.t.trust]:
                del hosts[host]
            if not hosts:
                del self._proven[mn]
        for mn in [m for m, until in self._locked.items() if until <= now]:
            del self._locked[mn]
        for mn in [m for m in self._next_lock if m not in self._locked and m not in self._mn]:
            del self._next_lock[mn]
