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


def attack_for_a_day(g: PasswordGuard, clock: Clock, device_at, attacker="10.9.9.9") -> int:
    """Someone who knows the MN (not its PW) re-locks it as each lock ends, from one address,
    polling every 10 s; the genuine device, disconnected, retries every 30 s from `device_at`
    (a function of the attempt: its address then). How often the device got in in 24 h."""
    accepted, start = 0, clock.t
    step = 0
    while clock.t - start < 86400:
        if step % 3 == 0:  # the device retries
            host = device_at(step)
            if not g.locked(MN) or g.trusted(MN, host):
                g.success(host, MN)
                accepted += 1
            else:
                g.locked_out(MN, host, 1)
        if not g.peer_blocked(attacker):  # the attacker's packet (refused at connect if blocked)
            if g.locked(MN) and not g.trusted(MN, attacker):
                g.locked_out(MN, attacker, 1)
            else:
                g.failure(MN, attacker, 1)
        clock.t += 10
        step += 1
    return accepted


def test_someone_who_knows_only_the_mn_cannot_keep_its_device_out():
    """The device showed its PW from its own address, then lost its connection; an attacker
    keeps locking the MN. The device comes back through the lock from that address."""
    g, clock = guard()  # the defaults
    g.success("10.0.0.5", MN)  # the device reported, then went away
    clock.t += 3600  # an hour offline
    assert attack_for_a_day(g, clock, lambda step: "10.0.0.5") == 2880  # every retry in 24 h
    assert g.locks >= 1


def test_polling_a_locked_mn_counts_toward_the_pollers_limit():
    g, _ = guard(mn_failures=5, peer_failures=20, connection_failures=3, lock=600)
    for _ in range(5):
        g.failure(MN, "10.9.9.9", 1)
    assert g.locked(MN)
    verdicts = [g.locked_out(MN, "10.9.9.9", k + 1) for k in range(15)]
    assert [v.close for v in verdicts[:3]] == [False, False, True]  # per connection
    assert g.peer_blocked("10.9.9.9")  # 5 wrong PWs + 15 polls: the host is refused at connect
    assert not g.peer_blocked("10.0.0.5")


def test_a_proven_host_that_guesses_itself_is_slowed_to_one_check_per_interval():
    """A guesser (or a misconfigured second logger) behind the device's own address: after its
    own 5 wrong PWs for the MN, that address gets one PW check through the lock per interval —
    guessing from there crawls, and the device behind it still gets back in within seconds."""
    g, clock = guard(mn_failures=5, peer_failures=1000, connection_failures=1000,
                     shared_interval=10.0)
    g.success("10.0.0.5", MN)
    for _ in range(4):
        g.failure(MN, "10.9.9.9", 1)
    g.failure(MN, "10.0.0.5", 1)  # the fifth, from the device's address: locked
    assert g.locked(MN) and g.trusted(MN, "10.0.0.5")
    assert not g.trusted("31OTHER00000000000000001", "10.0.0.5")  # per MN
    assert not g.trusted(MN, None)  # MQTT: the broker is never let through
    for _ in range(4):
        g.failure(MN, "10.0.0.5", 1)
    assert g.locked(MN)
    assert g.trusted(MN, "10.0.0.5")  # one check …
    assert not g.trusted(MN, "10.0.0.5")  # … and no second within the interval
    clock.t += 9.0
    assert not g.trusted(MN, "10.0.0.5")
    clock.t += 1.0
    assert g.trusted(MN, "10.0.0.5")


def test_a_pass_through_the_lock_lasts_the_trust_period_and_only_the_last_hosts():
    g, clock = guard(trust=86400, trusted_hosts=2)
    for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        g.success(host, MN)
    assert [g.trusted(MN, h) for h in ("10.0.0.1", "10.0.0.2", "10.0.0.3")] == [
        False, True, True]
    clock.t += 86401
    assert not g.trusted(MN, "10.0.0.3")
    g.forget()
    assert g._proven == {} and g._pair == {}
