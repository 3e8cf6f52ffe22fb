"""Inclinometer depth profiles: a hand-worked survey, the readings' validation, and the
properties that make the two-pass method worth its trouble."""

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartsite.pits import inclinometer as inc

# The hand-worked example. K = 25000 reading units per unit sine, L = 0.5 m, so
# deviation = 1000 · 0.5 · (A0 − A180) / (2 · 25000) = (A0 − A180) / 100 mm.
K = 25000
BASE_1 = [  # depth, A0, A180         A0 − A180   deviation   position (sum from the bottom)
    (0.5, 320, -300),  #                  620        6.20       0.40 + 2.00 + 4.80 + 6.20 = 13.40
    (1.0, 250, -230),  #                  480        4.80       0.40 + 2.00 + 4.80        =  7.20
    (1.5, 110, -90),  #                   200        2.00       0.40 + 2.00               =  2.40
    (2.0, 30, -10),  #                     40        0.40       0.40                      =  0.40
]
BASE_2 = [
    (0.5, 324, -300),  #                  624        6.24       13.40
    (1.0, 250, -226),  #                  476        4.76        7.16
    (1.5, 112, -90),  #                   202        2.02        2.40
    (2.0, 30, -8),  #                      38        0.38        0.38
]
# initial = mean of the two: 0.5 m 13.40, 1.0 m 7.18, 1.5 m 2.40, 2.0 m 0.39
SURVEY = [
    (0.5, -80, 100),  #                  -180       -1.80       17.60
    (1.0, 650, -630),  #                 1280       12.80       19.40
    (1.5, 310, -290),  #                  600        6.00        6.60
    (2.0, 40, -20),  #                     60        0.60        0.60
]
# displacement = position − initial:
#   0.5 m 17.60 − 13.40 = 4.20;  1.0 m 19.40 − 7.18 = 12.22;
#   1.5 m  6.60 −  2.40 = 4.20;  2.0 m  0.60 −  0.39 =  0.21
# the largest |displacement| is 12.22 mm at 1.0 m.


def close(values, expected):
    return all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(values, expected, strict=True))


def test_the_worked_example():
    devs = inc.deviations(BASE_1, k=K, interval=0.5)
    assert devs.depths == (0.5, 1.0, 1.5, 2.0)
    assert close(devs.values, [6.20, 4.80, 2.00, 0.40])
    assert close(inc.cumulate(devs).values, [13.40, 7.20, 2.40, 0.40])

    initial = inc.baseline([inc.position(BASE_1, k=K), inc.position(BASE_2, k=K)], n=2)
    assert close(initial.values, [13.40, 7.18, 2.40, 0.39])

    moved = inc.displacement(inc.position(SURVEY, k=K), initial)
    assert close(moved.values, [4.20, 12.22, 4.20, 0.21])
    assert math.isclose(moved.max_abs, 12.22) and moved.max_depth == 1.0
    assert math.isclose(moved.at(1.5), 4.20)


def test_rows_in_any_order_give_the_same_profile():
    assert inc.position(list(reversed(SURVEY)), k=K) == inc.position(SURVEY, k=K)


def test_the_baseline_is_the_mean_of_the_first_n_only():
    first, second, third = (inc.position(r, k=K) for r in (BASE_1, BASE_2, SURVEY))
    assert inc.baseline([first, second, third], n=1) == first
    assert close(inc.baseline([first, second, third], n=2).values, [13.40, 7.18, 2.40, 0.39])
    with pytest.raises(ValueError, match=re.escape("初始值需要 3 次观测,只有 2 次")):
        inc.baseline([first, second], n=3)


def test_per_depth_cumulative_values_are_accepted_as_they_come():
    initial = inc.from_cumulative([(1.0, 7.18), (0.5, 13.40), (2.0, 0.39), (1.5, 2.40)])
    survey = inc.from_cumulative([(0.5, 17.60), (1.0, 19.40), (1.5, 6.60), (2.0, 0.60)])
    moved = inc.displacement(survey, initial)
    assert close(moved.values, [4.20, 12.22, 4.20, 0.21])
    assert moved.max_depth == 1.0


def test_the_largest_displacement_may_be_negative():
    profile = inc.from_cumulative([(0.5, 3.0), (1.0, -8.5), (1.5, 8.5)])
    assert profile.max_abs == 8.5 and profile.max_depth == 1.0  # the shallower of a tie


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(12.0, 10, -8), (12.5, 10, None)], "深度 12.5 m 的读数缺少 A180"),
        ([(12.0, None, -8), (12.5, 10, -8)], "深度 12.0 m 的读数缺少 A0"),
        ([(3.0, float("nan"), -8)], "深度 3.0 m 的 A0 不是有限数"),
        ([(3.0, "12a", -8)], "深度 3.0 m 的 A0 不是数值"),
        ([(3.0, 1, -1), (3.5, 1, -1), (3.5, 2, -2)], "深度 3.5 m 的读数重复"),
        ([(3.0, 1, -1), (4.0, 1, -1)], "深度 3.0 m 与 4.0 m 的间距为 1.0 m,应为 0.5 m"),
        ([(3.0, 1, -1), (3.5, 1, -1), (3.75, 1, -1)], "深度 3.5 m 与 3.75 m 的间距为 0.25 m"),
        ([(-0.5, 1, -1)], "深度应为非负有限数"),
        ([(float("inf"), 1, -1)], "深度应为非负有限数"),
        ([], "没有任何深度的读数"),
        ([(0.5, 1)], "每行应有 3 项"),
    ],
)
def test_bad_readings_are_refused_naming_the_depth(rows, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        inc.position(rows, k=K)


@pytest.mark.parametrize(("k", "interval"), [(0, 0.5), (-25000, 0.5), (K, 0), (float("nan"), 0.5)])
def test_the_instrument_constant_and_interval_must_be_positive(k, interval):
    with pytest.raises(ValueError, match=re.escape("应为正数")):
        inc.deviations(BASE_1, k=k, interval=interval)


def test_a_survey_must_cover_the_baselines_depths_exactly():
    initial = inc.position(BASE_1, k=K)
    deeper = inc.position([*BASE_1, (2.5, 1, -1)], k=K)
    with pytest.raises(ValueError, match=re.escape("深度 2.5 m 不在初始剖面中")):
        inc.displacement(deeper, initial)
    with pytest.raises(ValueError, match=re.escape("初始剖面的深度 2.0 m 本次没有读数")):
        inc.displacement(inc.position(BASE_1[:3], k=K), initial)
    with pytest.raises(ValueError, match=re.escape("深度 2.5 m 不在第一次初始观测中")):
        inc.baseline([initial, deeper], n=2)


def test_a_missing_cumulative_value_is_named():
    with pytest.raises(ValueError, match=re.escape("深度 1.0 m 缺少累计位移")):
        inc.from_cumulative([(0.5, 1.0), (1.0, None)])


# Property tests ---------------------------------------------------------------------------

reading = st.floats(min_value=-30000, max_value=30000, allow_nan=False)


@st.composite
def surveys(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    top = draw(st.sampled_from([0.5, 1.0]))
    interval = draw(st.sampled_from([0.5, 1.0]))
    return interval, [(top + i * interval, draw(reading), draw(reading)) for i in range(n)]


@given(surveys(), st.floats(min_value=-5000, max_value=5000, allow_nan=False))
def test_a_probe_zero_offset_cancels(survey, bias):
    # A probe reading b too high reads A0 + b facing one way and A180 + b turned round
    # (the tilt term changes sign, its offset does not).
    interval, rows = survey
    biased = [(d, a0 + bias, a180 + bias) for d, a0, a180 in rows]
    plain = inc.position(rows, k=K, interval=interval)
    assert all(math.isclose(a, b, abs_tol=1e-6)
               for a, b in zip(inc.position(biased, k=K, interval=interval).values, plain.values,
                               strict=True))


@given(surveys())
def test_turning_the_passes_round_mirrors_the_profile(survey):
    interval, rows = survey
    plain = inc.position(rows, k=K, interval=interval)
    swapped = inc.position([(d, a180, a0) for d, a0, a180 in rows], k=K, interval=interval)
    assert swapped.values == tuple(-v for v in plain.values)
    assert swapped.max_abs == plain.max_abs


@given(surveys(), st.data())
def test_one_interval_tilting_moves_everything_above_it_alike(survey, data):
    # The tube bends at one interval only: the displacement is the same at and above that
    # depth and zero below it (the bottom is fixed).
    interval, rows = survey
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    change = data.draw(st.floats(min_value=-2000, max_value=2000, allow_nan=False))
    bent = [(d, a0 + change, a180 - change) if j == i else (d, a0, a180)
            for j, (d, a0, a180) in enumerate(rows)]
    initial = inc.baseline([inc.position(rows, k=K, interval=interval)] * 3, n=3)
    moved = inc.displacement(inc.position(bent, k=K, interval=interval), initial)
    expected = 1000 * interval * change / K  # (A0 − A180) grew by 2·change
    for j, value in enumerate(moved.values):
        assert math.isclose(value, expected if j <= i else 0.0, abs_tol=1e-6)


@given(surveys())
def test_the_top_position_is_the_sum_of_all_deviations(survey):
    interval, rows = survey
    devs = inc.deviations(rows, k=K, interval=interval)
    assert math.isclose(inc.cumulate(devs).values[0], math.fsum(devs.values), abs_tol=1e-6)
    assert inc.cumulate(devs).values[-1] == devs.values[-1]
