"""`smartsite worker` as a generic scheduler (core.scheduler): jobs run when due and not
before, their last run survives a restart, two workers never run an exclusive job at once,
a killed worker's lease runs out, a failing job is recorded and stops nothing, and
SMARTSITE_WORKER_JOBS selects what a worker runs — with a clear message when it names
nothing."""

from __future__ import annotations

import datetime

import pytest
from support import jobs as probe

from smartsite import cli
from smartsite.core import scenarios
from smartsite.core.models import JobRun
from smartsite.core.scenarios import Job
from smartsite.core.scheduler import Scheduler, SelectionError, select

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 12, 7, 15, 50, tzinfo=datetime.UTC)  # 23:50 in Shanghai
MINUTE = datetime.timedelta(minutes=1)
HOURLY = Job("lab.hourly", run="support.jobs.counted", every=datetime.timedelta(hours=1),
             lease=datetime.timedelta(minutes=5))


class Clock:
    def __init__(self, at=T0):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture(autouse=True)
def calls():
    probe.CALLS.clear()
    probe.inside = None
    yield probe.CALLS
    probe.inside = None


def test_a_job_runs_when_due_and_its_last_run_survives_a_restart(calls):
    clock = Clock()
    assert Scheduler([HOURLY], owner="w1", clock=clock).run_round() == {"lab.hourly": 1}
    clock.at += 30 * MINUTE
    restarted = Scheduler([HOURLY], owner="w1-after-restart", clock=clock)
    assert restarted.run_round() == {}  # ran half an hour ago: not due after the restart
    clock.at += 31 * MINUTE
    assert restarted.run_round() == {"lab.hourly": 1}
    run = JobRun.objects.get(name="lab.hourly")
    assert (run.runs, run.last_ok, run.last_found, run.lease_owner) == (2, True, 1, "")
    assert run.last_started == clock.at and calls == ["counted", "counted"]


def test_two_workers_never_run_an_exclusive_job_at_once(calls):
    clock = Clock()
    first = Scheduler([HOURLY], owner="w1", clock=clock)
    second = Scheduler([HOURLY], owner="w2", clock=clock)
    seen = []
    probe.inside = lambda: seen.append(second.run_round())  # w2's round while w1 runs it
    assert first.run_round() == {"lab.hourly": 1}
    assert seen == [{}] and calls == ["counted"]


def test_a_killed_workers_lease_runs_out_and_another_takes_the_job(calls):
    clock = Clock()
    killed = Scheduler([HOURLY], owner="w1", clock=clock)
    assert killed._claim(HOURLY)  # claimed, then the process died before finishing
    assert JobRun.objects.get(name="lab.hourly").lease_owner == "w1"
    other = Scheduler([HOURLY], owner="w2", clock=clock)
    clock.at += 4 * MINUTE
    assert other.run_round() == {}  # the lease (5 min) still holds
    clock.at += 62 * MINUTE  # lease over, and an hour since the killed run started
    assert other.run_round() == {"lab.hourly": 1}
    assert JobRun.objects.get(name="lab.hourly").lease_owner == ""


def test_a_failing_job_is_recorded_and_the_others_still_run(calls, caplog):
    broken = Job("lab.broken", run="support.jobs.broken")
    found = Scheduler([broken, HOURLY], owner="w1", clock=Clock()).run_round()
    assert found == {"lab.broken": 0, "lab.hourly": 1} and calls == ["broken", "counted"]
    run = JobRun.objects.get(name="lab.broken")
    assert (run.last_ok, run.failures) == (False, 1)
    assert "RuntimeError: 设备表锁定" in run.last_error
    assert "job lab.broken failed" in caplog.text


def test_a_job_of_every_round_runs_on_every_worker_and_records_quiet_rounds_sparingly(calls):
    every_round = Job("lab.quiet", run="support.jobs.quiet", exclusive=False)
    clock = Clock()
    worker = Scheduler([every_round], owner="w1", clock=clock)
    other = Scheduler([every_round], owner="w2", clock=clock)
    for _ in range(3):
        worker.run_round()
        other.run_round()
        clock.at += datetime.timedelta(seconds=5)
    assert calls == ["quiet"] * 6
    assert JobRun.objects.get(name="lab.quiet").runs == 2  # one record per worker per minute


SELECTABLE = [Job("workorders.timers", run="x"), Job("exchange.outbox", run="x"),
              Job("dust.roll_up", run="x"), Job("dust.rules", run="x", group="rules"),
              Job("video.snapshots", run="x")]


@pytest.mark.parametrize(("spec", "expected"), [
    ("*", ["workorders.timers", "exchange.outbox", "dust.roll_up", "dust.rules",
           "video.snapshots"]),
    ("", ["workorders.timers", "exchange.outbox", "dust.roll_up", "dust.rules",
          "video.snapshots"]),
    ("*,-dust.rules", ["workorders.timers", "exchange.outbox", "dust.roll_up",
                       "video.snapshots"]),
    ("-@rules", ["workorders.timers", "exchange.outbox", "dust.roll_up", "video.snapshots"]),
    ("@rules", ["dust.rules"]),
    ("dust.*, video.snapshots", ["dust.roll_up", "dust.rules", "video.snapshots"]),
])
def test_worker_jobs_select_by_name_glob_group_and_exclusion(spec, expected):
    assert [j.name for j in select(SELECTABLE, spec)] == expected


def test_a_selection_that_names_no_job_is_refused_with_the_declared_names():
    with pytest.raises(SelectionError) as refused:
        select(SELECTABLE, "*,-dust.rulez")
    assert "“dust.rulez” matches no job" in str(refused.value)
    assert "dust.rules" in str(refused.value) and "@rules" in str(refused.value)


def test_the_worker_command_refuses_a_bad_selection_and_the_retired_setting(capsys, monkeypatch):
    assert cli.main(["worker", "--once", "--jobs", "dust.nothing"]) == 2
    assert "“dust.nothing” matches no job" in capsys.readouterr().err
    monkeypatch.setenv("SMARTSITE_WORKER_RULES", "0")
    assert cli.main(["worker", "--once"]) == 2
    assert "SMARTSITE_WORKER_JOBS" in capsys.readouterr().err
    assert not JobRun.objects.exists()  # nothing ran


def test_the_worker_runs_the_declared_jobs_in_their_order():
    names = [job.name for job in scenarios.jobs()]
    assert names.index("dust.rules") < names.index("workorders.timers") \
        < names.index("exchange.outbox") < names.index("video.snapshots")
    assert cli.main(["worker", "--once", "--jobs", "*"]) == 0
    ran = JobRun.objects.filter(runs__gte=1, last_ok=True)
    assert set(ran.values_list("name", flat=True)) == set(names)
