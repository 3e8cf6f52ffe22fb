"""Time to alarm, checked on simulated series whose crossing day is known."""

import datetime
import math
import random
import statistics

import pytest

from smartsite.pits import forecast as fc

T0 = datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def simulate(seed, *, rate, accel=0.0, noise, days=20, start=0.0, sign=1):
    """Daily surveys (± an hour) of start + rate·t + accel·t²/2 plus Gaussian noise."""
    rng = random.Random(seed)
    return [(T0 + d * DAY + rng.uniform(-1, 1) * datetime.timedelta(hours=1),
             sign * (start + rate * d + accel * d * d / 2 + rng.gauss(0, noise)))
            for d in range(days + 1)]


def true_crossing(*, rate, accel=0.0, alarm, start=0.0):
    if accel == 0:
        return T0 + (alarm - start) / rate * DAY
    return T0 + (-rate + math.sqrt(rate**2 + 2 * accel * (alarm - start))) / accel * DAY


def linear_sd_days(*, noise, rate, n=15, ahead):
    """The spread of a straight line's crossing estimate (days): the fitted value's standard
    error ahead of the last of n daily readings, σ·√(1/n + (x − x̄)²/Sxx), over the rate."""
    sxx = n * (n * n - 1) / 12
    return noise * math.sqrt(1 / n + (ahead + (n - 1) / 2) ** 2 / sxx) / rate


CASES = {
    # name: simulation, alarm. Realistic Shanghai pits: 1–3 mm/d, noise ±0.3–2 mm.
    "wall top, 1.5 mm/d, ±1 mm": (dict(rate=1.5, noise=1.0), 40.0),
    "settlement, −2 mm/d, ±0.3 mm": (dict(rate=2.0, noise=0.3, sign=-1), 50.0),
    "inclinometer, 1 mm/d, ±2 mm": (dict(rate=1.0, noise=2.0, start=3.0), 30.0),
}


@pytest.mark.parametrize("name", CASES)
def test_a_steady_drift_is_caught_with_the_crossing_day_in_its_interval(name):
    sim, alarm = CASES[name]
    truth = true_crossing(rate=sim["rate"], alarm=alarm, start=sim.get("start", 0.0))
    ahead = (truth - T0) / DAY - 20
    tolerance = 4 * linear_sd_days(noise=sim["noise"], rate=sim["rate"], ahead=ahead)
    inside, errors = 0, []
    seeds = range(60)
    for seed in seeds:
        f = fc.forecast(simulate(seed, **sim), alarm)
        assert f.outcome == fc.APPROACHING and f.target == math.copysign(alarm, sim.get("sign", 1))
        assert f.earliest <= f.crossing_at and (f.latest is None or f.crossing_at <= f.latest)
        inside += f.earliest <= truth and (f.latest is None or truth <= f.latest)
        errors.append(abs((f.crossing_at - truth) / DAY))
        assert f.rate * f.target > 0 and f.points in (14, 15)  # readings jitter ± an hour
    # A 95 % interval: over 600 seeds of each case 96–97 % contained the true day (the early
    # end also allows for an acceleration too weak to detect, so it errs early). 60 seeds: at
    # least 52 (≈ 1 % chance of fewer at 95 % coverage).
    assert inside >= 52, (inside, name)
    # Each estimate within 4 standard deviations of a straight line's crossing estimate
    # (4 σ: a one-in-15,000 miss per seed for a Gaussian error); typically well within 1.
    assert max(errors) <= tolerance, (max(errors), tolerance)
    assert statistics.median(errors) <= tolerance / 4


def test_accelerating_creep_is_fitted_with_its_acceleration():
    # 0.5 mm/d at the start, +0.12 mm/d each day: 50 mm on day (−0.5 + √(0.25 + 12)) / 0.12 = 25.
    sim = dict(rate=0.5, accel=0.12, noise=1.0)
    truth = true_crossing(rate=0.5, accel=0.12, alarm=50.0)
    assert truth == T0 + 25 * DAY
    inside, errors, kinds = 0, [], []
    for seed in range(60):
        f = fc.forecast(simulate(seed, **sim), 50.0)
        assert f.outcome == fc.APPROACHING
        kinds.append(f.kind)
        inside += f.earliest <= truth and (f.latest is None or truth <= f.latest)
        errors.append(abs((f.crossing_at - truth) / DAY))
    assert inside >= 52
    # The curvature is significant at 99 % in about two series of three (its t-value is ~3.4
    # over 15 readings); a line through accelerating data is late, so the point estimate errs
    # by up to ~4.5 days (600 seeds), median ~0.7 day.
    assert kinds.count("quadratic") >= 30
    assert statistics.median(errors) <= 1.5 and max(errors) <= 5.0
    f = fc.forecast(simulate(0, rate=0.5, accel=0.12, noise=0.3), 50.0)
    assert f.kind == "quadratic"
    assert f.rate == pytest.approx(0.5 + 0.12 * 20, abs=0.3)  # the rate on the last day
    assert f.acceleration == pytest.approx(0.12, abs=0.05)


def test_a_noise_free_line_crosses_exactly_with_no_spread():
    series = [(T0 + d * DAY, 10.0 + 2.0 * d) for d in range(10)]  # 28 mm on day 9
    f = fc.forecast(series, 40.0)
    assert f.outcome == fc.APPROACHING and f.kind == "linear"
    assert f.crossing_at == pytest.approx(T0 + 15 * DAY, abs=datetime.timedelta(seconds=1))
    assert f.earliest == pytest.approx(f.crossing_at, abs=datetime.timedelta(minutes=20))
    assert f.latest == pytest.approx(f.crossing_at, abs=datetime.timedelta(minutes=20))
    assert f.days == pytest.approx(6.0) and f.rate == pytest.approx(2.0)
    later = fc.forecast(series, 40.0, now=T0 + 10 * DAY)  # days count from the injected clock
    assert later.days == pytest.approx(5.0)


def test_flat_noise_raises_no_alarm():
    for seed in range(300):
        rng = random.Random(seed)
        level = rng.uniform(-20, 20)  # 5σ of the worst noise below the alarm
        series = [(T0 + d * DAY, level + rng.gauss(0, rng.choice([0.3, 1.0, 2.0])))
                  for d in range(21)]
        f = fc.forecast(series, 30.0)
        assert f.crossing_at is None and f.outcome != fc.APPROACHING, (seed, f)


@pytest.mark.parametrize("sign", [1, -1])
def test_a_receding_point_has_no_crossing(sign):
    # 25 mm going back to 15 mm (a rebound), alarm 30 mm.
    series = [(T0 + d * DAY, sign * (25.0 - 0.5 * d + 0.3 * math.sin(d))) for d in range(21)]
    f = fc.forecast(series, 30.0)
    assert f.outcome == fc.RECEDING and f.crossing_at is None and f.days is None
    assert f.rate * sign < 0


def test_a_slow_drift_is_beyond_the_horizon_unless_the_horizon_is_longer():
    series = simulate(1, rate=0.1, noise=0.05, start=10.0)  # 30 mm around day 200
    f = fc.forecast(series, 30.0)
    assert f.outcome == fc.BEYOND_HORIZON and f.crossing_at is None
    assert f.rate == pytest.approx(0.1, abs=0.02)
    longer = fc.forecast(series, 30.0, horizon=datetime.timedelta(days=365))
    assert longer.outcome == fc.APPROACHING
    assert abs((longer.crossing_at - (T0 + 200 * DAY)) / DAY) < 30


def test_levelling_off_creep_does_not_reach_the_alarm():
    # Fast at first, then slowing (after the base slab): 20 + 2t − 0.06t² peaks at 36.7 mm on
    # day 16.7 and turns back; the alarm is 40 mm.
    series = [(T0 + d * DAY, 20 + 2 * d - 0.06 * d * d) for d in range(15)]
    f = fc.forecast(series, 40.0)
    assert f.kind == "quadratic" and f.acceleration == pytest.approx(-0.12)
    assert f.outcome == fc.BEYOND_HORIZON and f.crossing_at is None


def test_already_crossed_dates_the_first_reading_of_the_latest_run():
    values = [20, 28, 31, 29, 30.5, 32, 33]  # over 30 from the fifth reading on (again)
    series = [(T0 + d * DAY, -v) for d, v in enumerate(values)]  # settlement: negative
    f = fc.forecast(series, 30.0)
    assert f.outcome == fc.CROSSED and f.crossing_at == T0 + 4 * DAY
    assert f.target == -30.0 and f.days == -2.0


def test_too_few_readings_in_the_window():
    series = [(T0 + d * DAY, 2.0 * d) for d in range(30)]
    assert fc.forecast(series[:4], 100.0).outcome == fc.TOO_FEW
    assert fc.forecast([], 100.0).outcome == fc.TOO_FEW
    # The window counts back from the latest reading: 3 days hold 4 daily readings.
    short = fc.forecast(series, 100.0, window=datetime.timedelta(days=3))
    assert short.outcome == fc.TOO_FEW and short.points == 4
    assert fc.forecast(series, 100.0, window=datetime.timedelta(days=4)).points == 5


def test_the_window_follows_a_change_of_rate():
    # Flat for 30 days, then 3 mm/d for the last 7: a 7-day window sees the new rate.
    series = [(T0 + d * DAY, 5.0 if d < 30 else 5.0 + 3.0 * (d - 30)) for d in range(37)]
    f = fc.forecast(series, 40.0, window=datetime.timedelta(days=6))
    assert f.rate == pytest.approx(3.0) and f.days == pytest.approx((40 - 23) / 3)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="预警值应为正数"):
        fc.forecast([], 0)
    with pytest.raises(ValueError, match="不是有限数"):
        fc.forecast([(T0, float("nan"))], 30.0)


@pytest.mark.parametrize(("df", "table"), [(3, 3.182), (5, 2.571), (10, 2.228), (12, 2.179), (30, 2.042)])
def test_student_t_quantiles_match_the_tables(df, table):
    assert fc.t_quantile(0.95, df) == pytest.approx(table, abs=0.005)
