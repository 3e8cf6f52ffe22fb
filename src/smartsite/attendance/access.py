"""Who gets through each attendance route's permission gate (core/access.py says how to read
it)."""

from __future__ import annotations

from smartsite.core.access import (
    OWNER_PARTY,
    POST_PARTY,
    REGISTRY_EDITORS,
    REGULATORS,
    SCOPED,
    SIGNED_IN,
    STOPPAGE_FILERS,
    SUPERVISING_REGULATORS,
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
    # the pages (page_views.py): a project's board and a person's month for whoever sees
    # them; requests by the post's party, decided by the 建设单位; stoppages filed by the
    # 建设单位 or 施工单位 and approved by the district; spoofing reviews and the photos
    # (personal data) for regulators, decided by the project's district (or the city);
    # the list of key-post holders to enrol for the registry's editors (the district 监督站,
    # the city)
    "attendance:project": Access(read=SCOPED, object="core.project"),
    "attendance:person": Access(read=SCOPED, object="core.person"),
    "attendance:leave_add": Access(read=POST_PARTY, write=POST_PARTY,
                                   object="core.postassignment"),
    "attendance:stand_in_add": Access(read=POST_PARTY, write=POST_PARTY,
                                      object="core.postassignment"),
    "attendance:leave_decide": Access(write=OWNER_PARTY, object="attendance.leave"),
    "attendance:stand_in_decide": Access(write=OWNER_PARTY, object="attendance.standin"),
    "attendance:stoppage_add": Access(read=STOPPAGE_FILERS, write=STOPPAGE_FILERS,
                                      object="core.project"),
    "attendance:stoppage_decide": Access(write=SUPERVISING_REGULATORS,
                                         object="attendance.stoppage"),
    "attendance:reviews": Access(read=REGULATORS),
    "attendance:review_decide": Access(write=SUPERVISING_REGULATORS,
                                       object="attendance.reviewcase"),
    "attendance:checkin_photo": Access(read=REGULATORS, object="attendance.checkin"),
    "attendance:enrolments": Access(read=REGISTRY_EDITORS),
    "attendance:enrolment_photo": Access(read=REGULATORS, object="attendance.enrolment"),
    # consequences (后果): whoever sees the project reads them (the board, the rankings, the
    # API); the project's district regulators (or the city) confirm or withdraw a proposal
    "GET /attendance/sanctions": Access(read=SCOPED),
    "POST /attendance/sanctions/{pk}/decision": Access(write=SUPERVISING_REGULATORS,
                                                       object="attendance.sanction"),
    "attendance:sanction_decide": Access(write=SUPERVISING_REGULATORS,
                                         object="attendance.sanction"),
}
