"""Who gets through each attendance route's permission gate (core/access.py says how to read
it)."""

from __future__ import annotations

from smartsite.core.access import OWNER_PARTY, POST_PARTY, SCOPED, Access

ROUTES = {
    "attendance:dashboard": Access(read=SCOPED),
    "GET /attendance/months": Access(read=SCOPED),
    "POST /attendance/leaves": Access(write=POST_PARTY, object="core.postassignment",
                                      via="assignment"),
    "POST /attendance/leaves/{pk}/decision": Access(write=OWNER_PARTY,
                                                    object="attendance.leave"),
    "POST /attendance/stand-ins": Access(write=POST_PARTY, object="core.postassignment",
                                         via="assignment"),
    "POST /attendance/stand-ins/{pk}/decision": Access(write=OWNER_PARTY,
                                                       object="attendance.standin"),
}
