"""Storing readings: duplicates change nothing, means are the means a regulator expects."""

from __future__ import annotations

import datetime
import math

import pytest
from support.monitors import NOW, SHANGHAI, add_monitor, row

from smartsite.dust import ingest, minutes
from smartsite.dust.models import PeriodMean, Reading, RollupPending
from smartsite.dust.partitions import ensure_partitions

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def monitor(cast):
    ensure_partitions(NOW.date() - datetime.timedelta(days=2), NOW.date() + datetime.timedelta(days=1))
    return add_monitor(cast.project_a)


HOUR = datetime.timedelta(hours=1)


def at_minutes(n: int, start=NOW - datetime.timedelta(minutes=30)):
    return [start + datetime.timedelta(minutes=i) for i in range(n)]


def test_a_resent_batch_is_counted_as_duplicates_and_stores_nothing(monitor):
    rows = [row(monitor, at, pm10=80 + i) for i, at in enumerate(at_minutes(10))]
    assert ingest.ingest(rows) == ingest.IngestResult(10, 0)
    assert ingest.ingest([*rows[5:], row(monitor, NOW)]) == ingest.IngestResult(1, 5)
    assert Reading.objects.filter(monitor=monitor).count() == 11
    ingest.roll_up_all()
    hour = PeriodMean.objects.get(monitor=monitor, period=3600,
                                  bucket=datetime.datetime(2026, 11, 25, 9, tzinfo=SHANGHAI))
    # 09:30 … 09:39 once each, not twice for the re-sent half
    assert hour.n_pm10 == 10
    assert hour.mean("pm10") == pytest.approx(sum(80 + i for i in range(10)) / 10)


def test_the_same_reading_twice_in_one_batch_is_stored_once(monitor):
    rows = [row(monitor, NOW, pm10=80), row(monitor, NOW, pm10=99)]
    assert ingest.ingest(rows) == ingest.IngestResult(1, 1)
    assert Reading.objects.get(monitor=monitor).pm10 == 80  # the first one wins


def test_fifteen_minute_means_follow_shanghai_quarters_and_skip_invalid_values(monitor):
    start = datetime.datetime(2026, 11, 25, 9, 10, tzinfo=SHANGHAI)
    rows = [row(monitor, at, pm10=100) for at in at_minutes(10, start)]  # 09:10–09:19
    rows[2] = row(monitor, start + datetime.timedelta(minutes=2), pm10=900, flag="C")  # calibrating
    ingest.ingest(rows)
    first = PeriodMean.objects.get(monitor=monitor, period=900,
                                   bucket=datetime.datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    second = PeriodMean.objects.get(monitor=monitor, period=900,
                                    bucket=datetime.datetime(2026, 11, 25, 9, 15, tzinfo=SHANGHAI))
    assert (first.samples, first.n_pm10, first.mean("pm10"), first.max_pm10) == (5, 4, 100, 100)
    assert (second.samples, second.mean("pm10")) == (5, 100)


def test_a_day_runs_from_midnight_to_midnight_shanghai_time(monitor):
    late = datetime.datetime(2026, 11, 24, 23, 59, tzinfo=SHANGHAI)
    early = datetime.datetime(2026, 11, 25, 0, 1, tzinfo=SHANGHAI)
    ingest.ingest([row(monitor, late, pm10=50), row(monitor, early, pm10=150)])
    ingest.roll_up_all()
    days = {d.bucket.astimezone(SHANGHAI).date(): d.mean("pm10")
            for d in PeriodMean.objects.filter(monitor=monitor, period=86400)}
    assert days == {datetime.date(2026, 11, 24): 50, datetime.date(2026, 11, 25): 150}


def test_noise_means_are_energy_means(monitor):
    ingest.ingest([row(monitor, NOW, noise=50), row(monitor, NOW + datetime.timedelta(seconds=20),
                                                      noise=70)])
    [minute] = minutes.minute_means([monitor.pk], NOW - HOUR, NOW + HOUR)
    expected = 10 * math.log10((10 ** 5 + 10 ** 7) / 2)  # 67.0 dB(A), not the arithmetic 60
    assert minute.mean("noise") == pytest.approx(expected)
    assert minute.max_noise == 70


def test_device_minute_data_is_stored_but_not_mixed_into_our_means(monitor):
    ingest.ingest([row(monitor, NOW, pm10=80), row(monitor, NOW, cn=2051, pm10=500)])
    assert Reading.objects.filter(monitor=monitor).count() == 2
    [minute] = minutes.minute_means([monitor.pk], NOW - HOUR, NOW + HOUR)
    assert (minute.samples, minute.mean("pm10")) == (1, 80)


def test_a_monitor_reporting_mg_is_stored_in_micrograms(cast):
    monitor = add_monitor(cast.project_a, mn="31TEST00000000000000MG01", particulate_unit="mg")
    ingest.ingest([row(monitor, NOW, pm10=0.085)])
    assert Reading.objects.get(monitor=monitor).pm10 == pytest.approx(85)


def test_retention_removes_what_is_older_than_the_setting_and_keeps_the_rest(monitor, settings):
    from smartsite.dust.partitions import apply_retention

    old, recent = NOW - datetime.timedelta(days=2), NOW - datetime.timedelta(hours=1)
    ingest.ingest([row(monitor, old, now=NOW), row(monitor, recent, now=NOW)])
    ingest.roll_up_all()
    settings.READING_RETENTION_DAYS = 1
    apply_retention(NOW)
    assert list(Reading.objects.values_list("data_time", flat=True)) == [recent]
    assert [m.bucket for m in minutes.minute_means([monitor.pk], old - HOUR, NOW)] == [recent]
    assert PeriodMean.objects.filter(period=86400).count() == 2  # kept for years


@pytest.mark.parametrize("local, message", [
    (datetime.datetime(1, 1, 1), "is before 2000"),
    (datetime.datetime(2024, 1, 1), "is older than the 400 days readings are kept"),
    (datetime.datetime(2026, 11, 25, 12, 0), "is in the future"),
])
def test_readings_from_impossible_times_are_refused_with_the_reason(monitor, local, message):
    from support.monitors import dust_values, info

    from smartsite.dust.readings import BadReading, reading_row

    with pytest.raises(BadReading, match=message):
        reading_row(info(monitor), 2011, local, dust_values(), now=NOW)


def test_hour_and_day_means_are_owed_in_the_readings_transaction_and_rolled_up_once(monitor):
    """The acknowledged transaction stores the readings, their 15-minute means and what
    the hour and day means owe; `roll_up` settles it, and a repeat changes nothing."""
    start = datetime.datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    ingest.ingest([row(monitor, start + datetime.timedelta(minutes=i), pm10=60 + i)
                     for i in range(30)])
    ingest.ingest([row(monitor, start + datetime.timedelta(minutes=30 + i), pm10=90 + i)
                     for i in range(40)])  # into the next hour too
    assert PeriodMean.objects.filter(monitor=monitor, period=900).count() == 5
    assert not PeriodMean.objects.filter(monitor=monitor, period__in=(3600, 86400)).exists()
    assert RollupPending.objects.count() == 3  # batch 1: 09h; batch 2: 09h and 10h

    assert ingest.roll_up() == 2  # monitor-hours
    hours = {h.bucket.astimezone(SHANGHAI).hour: (h.samples, h.n_pm10, h.mean("pm10"), h.max_pm10)
             for h in PeriodMean.objects.filter(monitor=monitor, period=3600)}
    nine = [60 + i for i in range(30)] + [90 + i for i in range(30)]
    assert hours == {9: (60, 60, pytest.approx(sum(nine) / 60), 119),
                     10: (10, 10, pytest.approx(sum(120 + i for i in range(10)) / 10), 129)}
    day = PeriodMean.objects.get(monitor=monitor, period=86400)
    assert (day.samples, day.max_pm10) == (70, 129)
    assert not RollupPending.objects.exists()
    assert ingest.roll_up() == 0

    ingest.ingest([row(monitor, start + datetime.timedelta(minutes=5), pm10=999)])  # a re-send
    assert not RollupPending.objects.exists()  # nothing new stored, nothing owed


@pytest.mark.django_db(transaction=True)
def test_a_closed_days_reading_index_is_rebuilt_once_and_keeps_every_reading(cast):
    """PostgreSQL: the worker rebuilds the primary key of a day whose packets are all in
    (half-empty while written, ~90 % full rebuilt); the open day is left alone."""
    from django.db import connection

    from smartsite.dust.partitions import compact_closed

    if connection.vendor != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    ensure_partitions(datetime.date(2026, 11, 23), datetime.date(2026, 11, 26))
    with connection.cursor() as cur:  # partitions outlive a test: another may have compacted them
        for day in ("20261123", "20261124", "20261125"):
            cur.execute(f"COMMENT ON TABLE dust_reading_p{day} IS NULL")
    monitor = add_monitor(cast.project_a)
    yesterday = datetime.datetime(2026, 11, 24, 0, 0, tzinfo=datetime.UTC)
    ingest.ingest([row(monitor, yesterday + datetime.timedelta(minutes=i), pm10=i % 90,
                         now=NOW) for i in range(0, 1440, 3)] + [row(monitor, NOW, now=NOW)])

    def index_oids():
        with connection.cursor() as cur:
            cur.execute("SELECT c.relname, x.indexrelid FROM pg_index x JOIN pg_class c "
                        "ON c.oid = x.indrelid WHERE c.relname IN "
                        "('dust_reading_p20261124', 'dust_reading_p20261125')")
            return dict(cur.fetchall())

    before = index_oids()
    compacted = compact_closed(NOW + datetime.timedelta(hours=2))  # 04:00 UTC on the 25th
    assert "dust_reading_p20261124" in compacted and "dust_reading_p20261125" not in compacted
    after = index_oids()
    assert after["dust_reading_p20261124"] != before["dust_reading_p20261124"]  # rebuilt
    assert after["dust_reading_p20261125"] == before["dust_reading_p20261125"]
    assert "dust_reading_p20261124" not in compact_closed(NOW + datetime.timedelta(hours=2))
    assert Reading.objects.filter(monitor=monitor).count() == 481
    assert ingest.ingest([row(monitor, yesterday, now=NOW)]).duplicates == 1  # key holds
