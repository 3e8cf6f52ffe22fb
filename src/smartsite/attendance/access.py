"""Who gets through each attendance route's permission gate (core/access.py says how to read
it)."""

from __future__ import annotations

from smartsite.core.access import (
    OWNER_PARTY,
    POST_PARTY,
    REGISTRY_EDITORS,
    SCOPED,
    SIGNED_IN,
    Access,
)

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
    # the phone check-in (checkin_views.py, checkin_api.py): the signed-in user checks in as
    # the person they are (checkin.person_of); anyone else is told their account has none
    "attendance:checkin": Access(read=SIGNED_IN),
    "POST /attendance/checkins": Access(write=SIGNED_IN),
    # enrolment of reference faces (enrolment_api.py): city and the district's regulators
    "POST /attendance/enrolments": Access(write=REGISTRY_EDITORS, object="core.person",
                                          via="person"),
    "attendance:enrol": Access(read=REGISTRY_EDITORS, write=REGISTRY_EDITORS,
                               object="core.person"),
}
