"""Key-post people checking in while the demo runs (`smartsite simulate`, every round).

Through the real HTTP API — `POST /api/v1/attendance/checkins`, multipart, a fresh photo of
the person's identity (`photos.py`), a GCJ-02 fix with metres of jitter, a client id per
check-in — as each enrolled key-post person, with an API token issued to his login (the login
name is his 身份证号; tokens are issued when the round first needs them and revoked on the next
start). The web server runs the face model, the geofence and the spoofing signals.

Shanghai time, the process clock: between 07:20 and 09:10 the people due today clock in
(each at his own minute, drawn per person and day), between 17:00 and 19:30 they clock out —
except the day's absentees (~5 %, Sundays more), the short days (out before noon), the GPS
spoofer (always the same coordinates to the last digit: the no-jitter signal) and, now and
then, an impostor (another identity's face: 人证不符, rejected and sent to review). At most
`PER_ROUND` check-ins a round. The web address comes from `SMARTSITE_DEMO_URL` (set by
`smartsite demo`); without it the round does nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import random
import urllib.error
import urllib.request
import uuid

from django.contrib.auth import get_user_model
from django.utils import timezone

from smartsite.attendance.choices import Direction
from smartsite.attendance.models import CheckIn, Enrolment, ReviewCase
from smartsite.core.models import ApiToken, PostAssignment
from smartsite.simulator.attendance import photos
from smartsite.simulator.attendance.seed import position

__all__ = ["PER_ROUND", "check_ins", "due"]

log = logging.getLogger(__name__)

PER_ROUND = 6
TOKEN_NAME = "演示模拟打卡"
ABSENT, SHORT, IMPOSTOR = 0.05, 0.05, 0.01

_tokens: dict[str, str] = {}  # resident id → raw API key (this process only)


def _draw(resident_id: str, day: datetime.date, what: str) -> float:
    """A number in [0, 1) fixed by the person, the day and `what`."""
    digest = hashlib.sha256(f"{resident_id}:{day}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _plan(resident_id: str, day: datetime.date) -> tuple[str, datetime.time, datetime.time]:
    """(kind, entry time, exit time) of a person's day: kind valid | short | absent."""
    sunday = 2.5 if day.weekday() == 6 else 1.0
    r = _draw(resident_id, day, "kind")
    kind = "absent" if r < ABSENT * sunday else "short" if r < (ABSENT * sunday + SHORT) \
        else "valid"
    entry = 7 * 60 + 20 + int(_draw(resident_id, day, "in") * 110)
    exit_ = (11 * 60 + int(_draw(resident_id, day, "out") * 50) if kind == "short"
             else 17 * 60 + int(_draw(resident_id, day, "out") * 150))
    return kind, datetime.time(entry // 60, entry % 60), datetime.time(exit_ // 60, exit_ % 60)


def due(now: datetime.datetime) -> list[tuple[PostAssignment, str]]:
    """(assignment, direction) of the enrolled key-post people whose check-in is due by `now`
    and not made yet today."""
    local = timezone.localtime(now)
    today = local.date()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time()))
    enrolled = set(Enrolment.objects.filter(active=True).values_list("person", flat=True))
    done = set(CheckIn.objects.filter(at__gte=start, person__in=enrolled)
               .values_list("person", "direction"))
    out = []
    seen = set()
    for a in (PostAssignment.objects.filter(person__in=enrolled, post__key_post__isnull=False,
                                            start_date__lte=today)
              .exclude(end_date__lt=today).select_related("person", "project")
              .order_by("project__permit_no", "pk")):
        if a.person_id in seen:
            continue
        seen.add(a.person_id)
        kind, entry, exit_ = _plan(a.person.resident_id, today)
        if kind == "absent":
            continue
        if (a.person_id, Direction.ENTRY) not in done:
            if entry <= local.time() and local.time() < datetime.time(10, 30):
                out.append((a, Direction.ENTRY))
        elif (a.person_id, Direction.EXIT) not in done and exit_ <= local.time() \
                and local.time() < datetime.time(21, 0):
            out.append((a, Direction.EXIT))
    return out


def _token(user) -> str:
    raw = _tokens.get(user.username)
    if raw is None:
        from smartsite.core import services

        ApiToken.objects.filter(user=user, name=TOKEN_NAME, revoked__isnull=True).update(
            revoked=timezone.now())
        _token_row, raw = services.issue_token(user, actor=user, name=TOKEN_NAME)
        _tokens[user.username] = raw
    return raw


def _spoofer() -> int | None:
    """The person whose recent check-ins carry one raw fix (the seed's GPS spoofer)."""
    case = ReviewCase.objects.filter(signal="no_jitter").order_by("-pk").first()
    return case.checkin.person_id if case else None


def _post(url: str, token: str, fields: dict, photo: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = b""
    for key, value in fields.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; "
             f"filename=\"checkin.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += photo + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/api/v1/attendance/checkins", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def check_ins(rng: random.Random, now: datetime.datetime | None = None, *,
              url: str | None = None, limit: int = PER_ROUND) -> int:
    """One live round: the due check-ins (at most `limit`) through the HTTP API. Returns how
    many the server stored."""
    url = url or os.environ.get("SMARTSITE_DEMO_URL", "")
    if not url:
        return 0
    now = now or timezone.now()
    users = {u.username: u for u in get_user_model().objects.filter(
        is_active=True, username__in=list(Enrolment.objects.filter(active=True)
                                          .values_list("person__resident_id", flat=True)))}
    spoofer = _spoofer()
    stored = 0
    for a, direction in due(now)[:limit]:
        user = users.get(a.person.resident_id)
        if user is None:
            continue
        identity = _enrolled_identity(a.person_id) or photos.identity_of(a.person.resident_id)
        if rng.random() < IMPOSTOR:
            identity = "biden" if identity == "obama" else "obama"
        if a.person_id == spoofer:
            last = CheckIn.objects.filter(person=a.person_id).order_by("-at").first()
            fix = (last.lng_raw, last.lat_raw) if last else position(rng, a.project)[:2]
        else:
            fix = position(rng, a.project)[:2]
        fields = {"project": a.project_id, "client_id": str(uuid.uuid4()),
                  "direction": direction, "lng": fix[0], "lat": fix[1], "datum": "gcj02",
                  "accuracy_m": round(rng.uniform(5, 35), 1),
                  "device_time": timezone.localtime(now).isoformat(),
                  "device_id": f"sim-{a.person.resident_id[-6:]}"}
        try:
            status, answer = _post(url, _token(user), fields, photos.variant(identity, rng))
        except (OSError, ValueError) as exc:
            log.warning("simulated check-in of %s failed: %s", a.person.name, exc)
            continue
        if status in (200, 201):
            stored += 1
            log.info("check-in %s %s %s: %s", a.person.name, direction, a.project.permit_no,
                     answer.get("outcome"))
        else:
            if status == 401:  # the token was revoked (or the database replaced): a new one
                _tokens.pop(user.username, None)
            log.warning("check-in %s refused (%s): %s", a.person.name, status,
                        answer.get("title") or answer)
    return stored


def _enrolled_identity(person_id: int) -> str | None:
    """Which identity the person was enrolled with: the closer original to his enrolment."""
    from smartsite.attendance import faces

    encoding = (Enrolment.objects.filter(person=person_id, active=True)
                .values_list("encoding", flat=True).first())
    if not encoding:
        return None
    best = min(photos.IDENTITIES, key=lambda i: faces.distance(encoding, _original(i)))
    return best


_originals: dict[str, tuple] = {}


def _original(identity: str) -> tuple:
    if identity not in _originals:
        from smartsite.attendance import faces

        _originals[identity] = faces.encode(photos.original(identity).read_bytes(),
                                            max_bytes=5 << 20).encoding
    return _originals[identity]
