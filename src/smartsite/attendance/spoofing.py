"""Spoofing signals (疑似作假) on a check-in, from the person's recent check-ins: pure functions,
no database. Each finding becomes a `ReviewCase` with its evidence (checkin.py); a person
decides (确认作假 / 排除). None of them rejects a check-in by itself.

* **impossible travel** — from the previous check-in to this one, on two different sites, the
  person would have moved faster than the Parameter `impossible_travel_kmh`;
* **no jitter** — real GPS fixes wander by metres from one reading to the next; the same raw
  coordinates, to the last digit, on `NO_JITTER_COUNT` check-ins point to a faked location
  (a mock-location app, a replayed request);
* **same photo** — the photo's bytes (sha256) were sent before: by another check-in (of
  anyone) or as the person's enrolment photo. A live camera frame is never byte-identical.

Not here: a "photo of a photo" (翻拍) signal. The cheap published ones (moiré peaks in the
spectrum, missing high-frequency energy; docs/research/attendance.md §4.4) need re-photographed
test images to set and check a threshold, and we have none; a threshold picked blind would
flood the review queue or never fire.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["NO_JITTER_COUNT", "Finding", "Fix", "impossible_travel", "no_jitter", "same_photo"]

#: How many check-ins with identical raw coordinates (this one included) make the no-jitter
#: signal. (A parameter row would be better: `no_jitter_count` is not among the fixture's codes.)
NO_JITTER_COUNT = 3
#: Below this distance two fixes are "the same place" whatever the time between them: GPS
#: error alone can put two fixes a few hundred metres apart seconds apart.
MIN_TRAVEL_M = 1000.0
EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True)
class Fix:
    """What a signal needs of one check-in."""

    checkin_id: int | None
    project_id: int
    at: datetime.datetime
    lng: float | None  # WGS-84
    lat: float | None
    lng_raw: float
    lat_raw: float
    photo_sha256: str = ""


@dataclass(frozen=True)
class Finding:
    signal: str  # a choices.Signal value
    message: str
    evidence: dict


def _metres(a_lng: float, a_lat: float, b_lng: float, b_lat: float) -> float:
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lng - a_lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def impossible_travel(previous: Fix | None, current: Fix, *, max_kmh: float) -> Finding | None:
    """The move from `previous` (the person's last check-in before this one) to `current`."""
    if previous is None or previous.project_id == current.project_id:
        return None
    if None in (previous.lng, previous.lat, current.lng, current.lat):
        return None
    metres = _metres(previous.lng, previous.lat, current.lng, current.lat)
    if metres < MIN_TRAVEL_M:
        return None
    seconds = (current.at - previous.at).total_seconds()
    speed = math.inf if seconds <= 0 else metres / seconds * 3.6
    if speed <= max_kmh:
        return None
    minutes = max(seconds, 0) / 60
    shown = "—" if math.isinf(speed) else f"{speed:.0f}"
    return Finding("impossible_travel",
                   f"{minutes:.0f} 分钟内从另一项目移动 {metres / 1000:.1f} km（约 {shown} km/h，"
                   f"超过 {max_kmh:g} km/h）",
                   {"previous_checkin": previous.checkin_id, "previous_project": previous.project_id,
                    "previous_at": previous.at.isoformat(), "distance_km": round(metres / 1000, 3),
                    "minutes": round(minutes, 1),
                    "speed_kmh": None if math.isinf(speed) else round(speed, 1),
                    "limit_kmh": max_kmh})


def no_jitter(recent: Sequence[Fix], current: Fix, *, count: int = NO_JITTER_COUNT
              ) -> Finding | None:
    """`current`'s raw coordinates repeated exactly by at least `count - 1` of `recent`."""
    same = [f for f in recent if f.lng_raw == current.lng_raw and f.lat_raw == current.lat_raw
            and f.checkin_id != current.checkin_id]
    if len(same) + 1 < count:
        return None
    return Finding("no_jitter",
                   f"连续 {len(same) + 1} 次打卡的原始坐标完全相同（{current.lng_raw}, "
                   f"{current.lat_raw}），真实定位应有米级抖动",
                   {"lng_raw": current.lng_raw, "lat_raw": current.lat_raw,
                    "checkins": [f.checkin_id for f in same],
                    "times": [f.at.isoformat() for f in same]})


def same_photo(sha256: str, earlier_checkins: Iterable[tuple[int, int]],
               enrolment_ids: Iterable[int] = ()) -> Finding | None:
    """`earlier_checkins`: (check-in id, person id) of check-ins with the same photo bytes;
    `enrolment_ids`: enrolments with them."""
    checkins = list(earlier_checkins)
    enrolments = list(enrolment_ids)
    if not checkins and not enrolments:
        return None
    where = []
    if checkins:
        where.append(f"{len(checkins)} 次以前的打卡")
    if enrolments:
        where.append("录入的人脸照片")
    return Finding("same_photo", f"照片与{'和'.join(where)}完全相同（同一文件重复提交）",
                   {"sha256": sha256, "checkins": [c for c, _p in checkins],
                    "people": sorted({p for _c, p in checkins}), "enrolments": enrolments})
