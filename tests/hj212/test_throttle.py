"""Wrong PWs: the guard's back-off per MN and closing per peer, on an injected clock."""

from __future__ import annotations

from smartsite.hj212.throttle import PasswordGuard, Thresholds

MN = "31GUARD00000000000000001"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def guard(**thresholds) -> tuple[PasswordGuard, Clock]:
    clock = Clock()
    return PasswordGuard(Thresholds(**thresholds), clock=clock), clock


def test_five_wrong_pws_lock_the_mn_for_a_minute_and_the_lock_ends():
    g, clock = guard(mn_failures=5, lock=60, connection_failures=100, peer_failures=100)
    verdicts = [g.failure(MN, f"10.0.0.{k}", 1) for k in range(5)]  # from five hosts
    assert [v.locked_now for v in verdicts] == [False] * 4 + [True]
    assert verdicts[-1].lock_for == 60 and g.locked(MN) == 60
    assert g.locked("31OTHER00000000000000001") == 0  # other MNs are not touched
    clock.t += 59
    assert g.locked(MN) == 1
    clock.t += 1
    assert g.locked(MN) == 0


def test_each_further_lock_doubles_up_to_the_maximum():
    g, clock = guard(mn_failures=2, lock=60, max_lock=200, connection_failures=100,
                     peer_failures=100)
    lengths = []
    for _ in range(4):
        g.failure(MN, "10.0.0.1", 1)
        lengths.append(g.failure(MN, "10.0.0.1", 1).lock_for)
        clock.t += lengths[-1]
    assert lengths == [60, 120, 200, 200] and g.locks == 4


def test_failures_older_than_the_window_do_not_count():
    g, clock = guard(mn_failures=3, window=600, connection_failures=100, peer_failures=100)
    g.failure(MN, "10.0.0.1", 1)
    g.failure(MN, "10.0.0.1", 1)
    clock.t += 601
    assert not g.failure(MN, "10.0.0.1", 1).locked_now
    assert g.failure(MN, "10.0.0.1", 1).locked_now is False
    assert g.failure(MN, "10.0.0.1", 1).locked_now  # three within the window


def test_a_connection_is_closed_after_its_third_wrong_pw():
    g, _ = guard(connection_failures=3, mn_failures=100, peer_failures=100)
    assert [g.failure(f"31MN{k:020d}", "10.0.0.1", k + 1).close for k in range(3)] == [
        False, False, True]


def test_a_host_with_too_many_wrong_pws_is_refused_until_the_window_has_passed():
    g, clock = guard(peer_failures=20, window=600, mn_failures=1000, connection_failures=1000)
    for k in range(19):
        g.failure(f"31MN{k:020d}", "10.0.0.9", 1)  # guessing across many MNs
    assert not g.peer_blocked("10.0.0.9")
    assert g.failure("31MN00000000000000000099", "10.0.0.9", 1).close
    assert g.peer_blocked("10.0.0.9") and not g.peer_blocked("10.0.0.10")
    clock.t += 601
    assert not g.peer_blocked("10.0.0.9")


def test_a_host_genuine_devices_report_from_is_not_refused_as_a_whole():
    """A site's router, a carrier NAT or a vendor platform: one misconfigured logger (or a
    guesser) behind the same address must not cut off every device there."""
    g, clock = guard(peer_failures=20, window=600, mn_failures=1000, connection_failures=3)
    g.success("10.0.0.9")  # a device showed its right PW from there
    verdicts = [g.failure(MN, "10.0.0.9", k % 3 + 1) for k in range(40)]
    assert not g.peer_blocked("10.0.0.9")
    assert [v.close for v in verdicts[:3]] == [False, False, True]  # still cut short per connection
    clock.t += 601  # no right PW for a whole window: the guesses alone count again
    g.failure(MN, "10.0.0.9", 1)
    assert not g.peer_blocked("10.0.0.9")  # the old guesses have aged out too
    for _ in range(19):
        g.failure(MN, "10.0.0.9", 1)
    assert g.peer_blocked("10.0.0.9")


def test_mqtt_failures_lock_the_mn_without_blocking_the_broker():
    g, _ = guard(mn_failures=3, peer_failures=1)
    verdicts = [g.failure(MN, None, k + 1) for k in range(3)]
    assert [v.close for v in verdicts] == [False, False, False]
    assert verdicts[-1].locked_now and g.locked(MN)


def test_forget_drops_what_no_longer_matters():
    g, clock = guard(mn_failures=2, lock=60, window=600)
    g.failure(MN, "10.0.0.1", 1)
    g.failure(MN, "10.0.0.1", 2)
    clock.t += 700
    g.forget()
    assert (g._mn, g._peer, g._locked, g._next_lock) == ({}, {}, {}, {})
