"""Many pits' surveys at once (`record_surveys`, the path of automated platforms, the MQTT
job and the simulator): each pit all or nothing, a refused pit's errors returned beside the
others' uploads, and the same findings, colours and warnings as pit by pit."""

from __future__ import annotations

import datetime

import pytest
from support.pits import T0, build_site, rows

from smartsite.pits import selectors, services
from smartsite.pits.models import ColourChange, Pit, Point, Reading, Upload
from smartsite.workorders.models import Event

# raw SQL (the assessment's window query and prepared UPDATEs) differs by engine
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
DAY = datetime.timedelta(days=1)
NOW = T0 + 10 * DAY


@pytest.fixture
def site(cast):
    return build_site(cast)


def more_pits(site, codes):
    """Pits beside the site's, each with the same wall-top and settlement points."""
    out = []
    for code in codes:
        pit = services.register_pit(
            project=site.pit.project, code=code, name="同名基坑", safety_grade=1,
            environment_grade=2, design_depth_m=15, retaining="diaphragm_wall",
            support="concrete_strut", outline=[[0, 0], [80, 0], [80, 40], [0, 40]])
        services.register_point(pit, code="WY-01", item="wall_top_horizontal", x_m=40, y_m=0)
        services.register_point(pit, code="DB-01", item="ground_settlement", x_m=40, y_m=-5)
        out.append(pit)
    return out


def test_a_refused_pit_stores_nothing_and_the_others_are_stored(site):
    a, b, c = more_pits(site, ["JK-A", "JK-B", "JK-C"])
    bad = [*rows("WY-01", [0.0, 0.1, 0.2]), *rows("NOPE-9", [1.0])]
    out = services.record_surveys(
        [(a, rows("WY-01", [0.0, 0.1, 0.2])), (b, bad),
         services.PitSurvey(c, rows("DB-01", [0.0, -0.1]))],
        source="api", actor=site.monitor_user, now=NOW)
    assert [pit for pit, _ in out] == [a, b, c]
    (_, up_a), (_, refused), (_, up_c) = out
    assert isinstance(refused, services.SurveyRejected)
    [(where, message)] = refused.errors
    assert where == "第 2 行" and "NOPE-9" in message
    assert (up_a.readings, up_c.readings) == (3, 2)
    assert not Upload.objects.filter(pit=b).exists()
    assert not Reading.objects.filter(point__pit=b).exists()
    assert Reading.objects.filter(point__pit=a).count() == 3
    assert float(Point.objects.get(pit=a, code="WY-01").baseline) == pytest.approx(0.1)
    assert Pit.objects.get(pk=b.pk).assessed_at is None
    assert Pit.objects.get(pk=c.pk).assessed_at == NOW


def test_a_jump_against_what_is_stored_refuses_only_its_pit(site):
    a, b = more_pits(site, ["JK-A", "JK-B"])
    services.record_surveys([(a, rows("WY-01", [0.0, 0.0, 0.0])),
                             (b, rows("WY-01", [0.0, 0.0, 0.0]))], now=NOW)
    later = T0 + 3 * DAY
    out = dict(services.record_surveys([(a, rows("WY-01", [0.5], start=later)),
                                        (b, rows("WY-01", [400.0], start=later))], now=NOW))
    assert "不可能" in out[b].errors[0][1]
    assert out[a].readings == 1
    assert Reading.objects.filter(point__pit=b).count() == 3


def test_the_same_pit_twice_refuses_the_call(site):
    with pytest.raises(services.DomainError):
        services.record_surveys([(site.pit, rows("WY-01", [0.0])),
                                 (site.pit, rows("DB-01", [0.0]))], now=NOW)
    assert not Reading.objects.exists()


# Three pits' stories, survey by survey: one drifts to yellow, red and back to yellow; one
# stays quiet; one turns yellow and recovers.
STORIES = [
    [[0.0, 0.0, 0.0], [6.0], [12.0, 21.0], [21.5], [21.6]],
    [[0.0, 0.1, 0.0], [0.2], [0.1, 0.2], [0.3], [0.2]],
    [[0.0, 0.0, 0.0], [6.0], [6.1, 6.2], [6.2], [6.3]],
]


def outcome(pits):
    """What a user sees of the pits, without their ids and codes."""
    def key(event):
        return event.dedup_key.rsplit(":", 1)[1]

    out = []
    for pit in pits:
        pit = Pit.objects.get(pk=pit.pk)
        out.append({
            "proposal": (pit.proposed_colour, pit.proposed_reasons, pit.assessed_at),
            "points": sorted(selectors.with_latest(Point.objects.filter(pit=pit)).values_list(
                "code", "level", "cumulative", "rate", "last_measured_at", "reasons",
                "baseline")),
            "changes": list(ColourChange.objects.filter(pit=pit).order_by("at", "pk")
                            .values_list("at", "colour", "proposed", "reasons")),
            "events": sorted((key(e), e.state, e.severity, e.count, e.first_seen, e.last_seen,
                              e.recovered_at, e.title, {**e.evidence, "pit": None},
                              e.order is not None)
                             for e in Event.objects.filter(
                                 dedup_key__startswith=services.dedup_prefix(pit))),
        })
    return out


def test_the_batch_stores_what_pit_by_pit_stores(site):
    one_by_one = more_pits(site, ["JK-A", "JK-B", "JK-C"])
    batched = more_pits(site, ["JK-D", "JK-E", "JK-F"])
    start = T0
    for step in range(len(STORIES[0])):
        now = start + datetime.timedelta(hours=2 + 24 * len(STORIES[0][step]))
        surveys = [rows("WY-01", story[step], start=start) for story in STORIES]
        for pit, survey in zip(one_by_one, surveys, strict=True):
            services.record_survey(pit, survey, now=now)
        out = services.record_surveys(list(zip(batched, surveys, strict=True)), now=now)
        assert all(isinstance(upload, Upload) for _, upload in out)
        start += len(STORIES[0][step]) * DAY
    seen = outcome(batched)
    assert seen == outcome(one_by_one)
    assert [s["proposal"][0] for s in seen] == ["yellow", "green", "green"]
    assert {e[0]: e[6] is not None for e in seen[0]["events"]} == {"red": True, "yellow": False}
    assert [c[1] for c in seen[2]["changes"]] == ["yellow", "green"]
