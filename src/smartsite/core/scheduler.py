"""`smartsite worker`: a generic scheduler for the jobs the apps declare (core.scenarios.Job).

Each round the worker runs every selected job that is due, then sleeps `interval` seconds
(unless a draining job found work: then the next round starts at once). A job's last run is a
`JobRun` row, so "every 6 hours" still means six hours after a restart; an exclusive job is
claimed with one conditional UPDATE that takes a lease on its row — two workers never run it
at once, and the lease of a worker that was killed runs out. A job that raises is logged and
recorded on its row; it never stops the worker or the other jobs.

`SMARTSITE_WORKER_JOBS` selects the jobs of this worker process: comma-separated names or
globs (`dust.*`), `@group` for a job group, and `-pattern` to leave some out
(`*,-dust.rules`: everything but the dust rules). Any number of workers may run against
PostgreSQL; on SQLite, run one.
"""

from __future__ import annotations

import datetime
import fnmatch
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from smartsite.core import scenarios
from smartsite.core.models import JobRun
from smartsite.core.scenarios import Job
from smartsite.lifecycle import stop_on_signals

log = logging.getLogger(__name__)

#: A job that runs every round records its run at most this often when it found nothing.
QUIET_RECORD_EVERY = datetime.timedelta(minutes=1)


class SelectionError(ValueError):
    """`SMARTSITE_WORKER_JOBS` names a job or group that no app declares."""


def select(jobs: Iterable[Job], spec: str) -> list[Job]:
    """The jobs `spec` (the SMARTSITE_WORKER_JOBS syntax) selects, in declaration order."""
    jobs = list(jobs)
    patterns = [p.strip() for p in (spec or "*").split(",") if p.strip()]
    wanted = [p for p in patterns if not p.startswith("-")] or ["*"]
    unwanted = [p[1:].strip() for p in patterns if p.startswith("-")]

    def matches(job: Job, pattern: str) -> bool:
        if pattern.startswith("@"):
            return job.group == pattern[1:]
        return fnmatch.fnmatchcase(job.name, pattern)

    for pattern in wanted + unwanted:
        if not any(matches(job, pattern) for job in jobs):
            known = ", ".join(sorted({j.name for j in jobs} | {"@" + j.group for j in jobs}))
            raise SelectionError(f"SMARTSITE_WORKER_JOBS: “{pattern}” matches no job "
                                 f"(declared: {known})")
    return [job for job in jobs if any(matches(job, p) for p in wanted)
            and not any(matches(job, p) for p in unwanted)]


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Runs `jobs` when due. `clock` returns the current time (injected in tests)."""

    def __init__(self, jobs: Iterable[Job], *, owner: str | None = None,
                 clock: Callable[[], datetime.datetime] = timezone.now):
        self.jobs = list(jobs)
        self.owner = owner or default_owner()
        self.clock = clock
        self._quiet_since: dict[str, datetime.datetime] = {}
        JobRun.objects.bulk_create([JobRun(name=job.name) for job in self.jobs],
                                   ignore_conflicts=True)

    def run_round(self) -> dict[str, int]:
        """Run every due job once; returns what each job that ran found."""
        found = {}
        for job in self.jobs:
            if self._claim(job):
                found[job.name] = self._run(job)
        return found

    def wants_another_round(self, found: dict[str, int]) -> bool:
        drains = {job.name for job in self.jobs if job.drain}
        return any(n for name, n in found.items() if name in drains)

    def _claim(self, job: Job) -> bool:
        """Take the job if it is due (and, if exclusive, not leased by a live worker)."""
        now = self.clock()
        if job.every <= datetime.timedelta(0) and not job.exclusive:
            return True  # every round, on every worker: recorded in _finish
        due = Q(last_started__isnull=True) | Q(last_started__lte=now - job.every)
        free = (Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=self.owner)
                if job.exclusive else Q())
        changes = {"last_started": now, "runs": F("runs") + 1}
        if job.exclusive:
            changes.update(lease_owner=self.owner, lease_until=now + job.lease)
        return bool(JobRun.objects.filter(due, free, name=job.name).update(**changes))

    def _run(self, job: Job) -> int:
        started = self.clock()
        try:
            found = int(scenarios.resolve(job.run)() or 0)
        except Exception as exc:  # one failing job never stops the worker or the others
            log.exception("job %s failed", job.name)
            self._finish(job, started, ok=False, found=0,
                         error="".join(traceback.format_exception_only(exc)).strip())
            return 0
        self._finish(job, started, ok=True, found=found)
        return found

    def _finish(self, job: Job, started, *, ok: bool, found: int, error: str = "") -> None:
        now = self.clock()
        every_round = job.every <= datetime.timedelta(0) and not job.exclusive
        if every_round and ok and not found:  # a quiet round: no write each time
            last = self._quiet_since.get(job.name)
            if last is not None and now - last < QUIET_RECORD_EVERY:
                return
            self._quiet_since[job.name] = now
        changes = {"last_finished": now, "last_ok": ok, "last_found": found,
                   "last_error": error[:2000]}
        if every_round:
            changes.update(last_started=started, runs=F("runs") + 1)
        if not ok:
            changes["failures"] = F("failures") + 1
        if job.exclusive:
            changes.update(lease_owner="", lease_until=None)
        rows = JobRun.objects.filter(name=job.name)
        if job.exclusive:
            rows = rows.filter(lease_owner=self.owner)  # (a lease that ran out and was taken)
        rows.update(**changes)


def run(*, interval: float = 5.0, once: bool = False, spec: str | None = None,
        clock: Callable[[], datetime.datetime] = timezone.now) -> dict[str, int]:
    """The worker loop: rounds until SIGTERM / Ctrl-C (between jobs' rounds) or, with
    `once`, one round (plus the rounds its draining jobs ask for). Returns the total each
    job found."""
    jobs = select(scenarios.jobs(), settings.WORKER_JOBS if spec is None else spec)
    log.info("worker %s runs %s", default_owner(), ", ".join(j.name for j in jobs))
    scheduler = Scheduler(jobs, clock=clock)
    totals: dict[str, int] = {}
    with stop_on_signals() as stop:
        while not stop.requested:
            if not connection.in_atomic_block:  # (inside a caller's transaction: keep it)
                close_old_connections()  # a database restart costs one failed round
            found = scheduler.run_round()
            for name, n in found.items():
                totals[name] = totals.get(name, 0) + n
            if any(found.values()):
                log.info("worker round: %s", ", ".join(f"{k} {v}" for k, v in found.items() if v))
            if scheduler.wants_another_round(found):
                continue  # more may be due
            if once:
                break
            time.sleep(interval)
    return totals
