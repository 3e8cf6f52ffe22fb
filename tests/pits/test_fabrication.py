"""Fabricated-data detectors: planted cases are found, honest noisy surveys raise nothing."""

import datetime
import math
import random

import pytest

from smartsite.pits import fabrication as fab

D0 = datetime.date(2025, 3, 3)
DAY = datetime.timedelta(days=1)


def schedule(rng, surveys):
    """Survey days: every day or two."""
    day, days = 0, []
    for _ in range(surveys):
        days.append(day)
        day += rng.choice([1, 1, 1, 2])
    return days


def honest(seed, *, surveys=60, decimals=1, days=None):
    """One point's honest survey series: drift 1–3 mm/d that speeds up or slows down (creep),
    noise ±0.3–2 mm, read to `decimals`, every day or two. Returns (series, noise σ)."""
    rng = random.Random(seed)
    rate, creep = rng.uniform(1, 3), rng.uniform(-0.02, 0.03)
    sigma = rng.choice([0.3, 0.5, 1.0, 2.0])
    sign = rng.choice([1, -1])
    series = []
    for day in days or schedule(rng, surveys):
        trend = rate * day + creep * day * day / 2
        series.append((D0 + day * DAY, round(sign * (trend + rng.gauss(0, sigma)), decimals)))
    return series, sigma


def honest_site(seed, points=12, surveys=60):
    """A pit's points, surveyed together."""
    days = schedule(random.Random(-seed), surveys)
    return {f"P{seed}-{i}": honest(seed * 100 + i, days=days)[0] for i in range(points)}


def as_surveys(site):
    surveys = {}
    for point, series in site.items():
        for day, value in series:
            surveys.setdefault(day, {})[point] = value
    return surveys


HONEST_SEEDS = range(8)


# (a) repeated values -----------------------------------------------------------------------

def test_a_point_repeating_its_value_is_found():
    series, _ = honest(1)
    planted = [(d, 17.4 if 20 <= i < 26 else v) for i, (d, v) in enumerate(series)]
    (finding,) = fab.repeated_values({"A/P1": planted, "A/P2": series})
    assert finding.kind == fab.REPEATED_VALUE and finding.subjects == ("A/P1",)
    assert finding.evidence == {"value": 17.4, "surveys": 6, "from": series[20][0].isoformat(),
                                "to": series[25][0].isoformat()}


def test_four_repeats_are_below_the_default_run():
    series = [(D0 + i * DAY, 5.0 if i < 4 else 5.0 + i) for i in range(10)]
    assert fab.repeated_values({"p": series}) == []
    assert len(fab.repeated_values({"p": series}, min_run=4)) == 1


@pytest.mark.parametrize("seed", HONEST_SEEDS)
def test_honest_points_repeat_nothing(seed):
    assert fab.repeated_values(honest_site(seed)) == []


def test_a_whole_survey_copied_from_an_earlier_date_is_found():
    site = honest_site(3)
    surveys = as_surveys(site)
    dates = sorted(surveys)
    copied = dict(surveys)
    copied[dates[30]] = dict(surveys[dates[27]])
    partly = dict(copied[dates[40]])
    for point in list(partly)[:10]:  # 10 of 12 copied from the day before
        partly[point] = surveys[dates[39]][point]
    copied[dates[40]] = partly
    findings = fab.copied_surveys(copied)
    assert [f.evidence["date"] for f in findings] == [dates[30].isoformat(), dates[40].isoformat()]
    whole, part = findings
    assert whole.kind == fab.COPIED_SURVEY
    assert whole.evidence["copied_from"] == dates[27].isoformat()
    assert whole.evidence["identical"] == 12 and whole.evidence["share"] == 1.0
    assert part.evidence["copied_from"] == dates[39].isoformat()
    assert part.evidence["identical"] == 10 and part.evidence["share"] == pytest.approx(0.833)


def test_a_few_equal_points_do_not_make_a_copied_survey():
    surveys = {D0: {"a": 1.0, "b": 2.0, "c": 3.0}, D0 + DAY: {"a": 1.0, "b": 2.0, "c": 3.0}}
    assert fab.copied_surveys(surveys) == []  # under min_points = 5
    assert len(fab.copied_surveys(surveys, min_points=3)) == 1


@pytest.mark.parametrize("seed", HONEST_SEEDS)
def test_honest_surveys_are_not_copies(seed):
    assert fab.copied_surveys(as_surveys(honest_site(seed))) == []


# (b) too smooth ------------------------------------------------------------------------------

def smooth(seed, surveys=30):
    """What a desk produces: a tidy creep curve, a hint of jitter, read to 0.1 mm."""
    rng = random.Random(seed)
    return [(D0 + i * DAY, round(2.0 * i + 0.02 * i * i + rng.gauss(0, 0.03), 1))
            for i in range(surveys)]


def test_a_series_too_smooth_for_a_level_is_found():
    (finding,) = fab.too_smooth({"fake": smooth(1), "real": honest(1)[0]}, precision=0.3)
    assert finding.kind == fab.TOO_SMOOTH and finding.subjects == ("fake",)
    assert finding.evidence["noise"] < 0.25 * 0.3 and finding.evidence["precision"] == 0.3
    assert finding.evidence["surveys"] == 30 and finding.evidence["from"] == D0.isoformat()


@pytest.mark.parametrize("seed", range(40))
def test_honest_noise_is_never_too_smooth(seed):
    series, sigma = honest(seed, surveys=25)
    assert fab.too_smooth({"p": series}, precision=sigma) == []


def test_the_noise_estimate_recovers_the_instruments_scatter():
    # Over a trend with creep and irregular survey days, the estimate stays near σ (its spread
    # over 60 surveys is ~15 %).
    ratios = []
    for seed in range(30):
        series, sigma = honest(seed, surveys=60, decimals=2)
        ratios.append(fab.noise_estimate(series) / sigma)
    assert 0.9 < sum(ratios) / len(ratios) < 1.1
    assert min(ratios) > 0.55 and max(ratios) < 1.6


def test_precision_per_series_and_the_edge_cases():
    constant = [(D0 + i * DAY, 12.0) for i in range(30)]
    # A point read as the very same value all along is too smooth for a level …
    assert [f.subjects for f in fab.too_smooth({"c": constant}, precision=0.3)] == [("c",)]
    # … but not for an instrument declared noise-free, nor without a stated precision.
    assert fab.too_smooth({"c": constant}, precision=0.0) == []
    assert fab.too_smooth({"c": constant, "f": smooth(2)}, precision={"f": 0.3}) == [
        f for f in fab.too_smooth({"f": smooth(2)}, precision=0.3)]
    # Too short to judge (default 20 surveys).
    assert fab.too_smooth({"f": smooth(3, surveys=19)}, precision=0.3) == []
    assert fab.noise_estimate(constant[:2]) is None
    with pytest.raises(ValueError, match="仪器精度应为非负数"):
        fab.too_smooth({"c": constant}, precision=-0.3)


# (c) duplicate series --------------------------------------------------------------------------

def test_a_series_copied_to_another_project_with_an_offset_is_found():
    series, _ = honest(5, surveys=40, decimals=2)
    moved = [(d + 100 * DAY, round(v + 7.3, 2)) for d, v in series]  # later dates, shifted
    site = {"A/P1": series, "B/Q7": moved, **honest_site(5, points=6, surveys=40)}
    (finding,) = fab.duplicate_series(site)
    assert finding.kind == fab.DUPLICATE_SERIES and finding.subjects == ("A/P1", "B/Q7")
    assert finding.evidence["increments"] == 39 and finding.evidence["whole"] is True
    assert finding.evidence["offset"] == pytest.approx(7.3)
    assert finding.evidence["b_from"] == (series[0][0] + 100 * DAY).isoformat()


def test_a_copied_stretch_is_found_with_its_dates():
    a, _ = honest(6, surveys=50)
    b, _ = honest(7, surveys=50)
    # B's surveys 30–44 copied from A's surveys 10–24, 3.2 mm lower.
    b = [(d, round(a[i - 20][1] - 3.2, 1) if 30 <= i <= 44 else v) for i, (d, v) in enumerate(b)]
    (finding,) = fab.duplicate_series({"b": b, "a": a})
    assert finding.subjects == ("a", "b")
    assert finding.evidence["increments"] == 14 and finding.evidence["whole"] is False
    ev = finding.evidence
    assert (ev["a_from"], ev["a_to"]) == (a[10][0].isoformat(), a[24][0].isoformat())
    assert (ev["b_from"], ev["b_to"]) == (b[30][0].isoformat(), b[44][0].isoformat())
    assert finding.evidence["offset"] == pytest.approx(-3.2)
    # Shorter than the window: not reported.
    assert fab.duplicate_series({"b": b, "a": a}, window=15) == []


def test_honest_series_and_points_at_rest_are_not_duplicates():
    site = {}
    for seed in HONEST_SEEDS:
        site |= honest_site(seed, surveys=60)
    site |= {f"rest{i}": [(D0 + j * DAY, 3.0 + i) for j in range(30)] for i in range(3)}
    assert len(site) == 99
    assert fab.duplicate_series(site) == []


# (d) surveys on days nobody checked in ---------------------------------------------------------

def test_surveys_on_days_without_a_check_in():
    surveys = {D0, D0 + DAY, D0 + 3 * DAY, D0 + 4 * DAY}
    check_ins = [D0, D0 + 2 * DAY, D0 + 4 * DAY, D0 + 4 * DAY]
    assert fab.unchecked_survey_dates(surveys, check_ins) == [D0 + DAY, D0 + 3 * DAY]
    assert fab.unchecked_survey_dates(surveys, surveys) == []
    with pytest.raises(ValueError, match="应为当地日期"):
        fab.unchecked_survey_dates([datetime.datetime(2025, 3, 3, 1, tzinfo=datetime.UTC)], [])


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError, match="不是有限数"):
        fab.repeated_values({"p": [(D0, math.nan)]})
