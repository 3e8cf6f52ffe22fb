"""Who gets through each pit route's permission gate (core/access.py says how to read it)."""

from __future__ import annotations

from smartsite.core.access import (
    DESIGN_UNIT,
    MONITORING_COMPANY,
    SCOPED,
    SITE_RECORD_EDITORS,
    Access,
)

ROUTES = {
    "pits:dashboard": Access(read=SCOPED),
    "pits:project": Access(read=SCOPED, object="core.project"),
    "pits:pit": Access(read=SCOPED, object="pits.pit"),
    "pits:pit_3d": Access(read=SCOPED, object="pits.pit"),
    "pits:pit_add": Access(read=SITE_RECORD_EDITORS, write=SITE_RECORD_EDITORS,
                           object="core.project"),
    "pits:pit_edit": Access(read=SITE_RECORD_EDITORS, write=SITE_RECORD_EDITORS,
                            object="pits.pit"),
    "pits:stage_add": Access(read=SITE_RECORD_EDITORS, write=SITE_RECORD_EDITORS,
                             object="pits.pit"),
    "pits:point_add": Access(read=SITE_RECORD_EDITORS, write=SITE_RECORD_EDITORS,
                             object="pits.pit"),
    "pits:judge": Access(write=DESIGN_UNIT, object="pits.pit"),
    "pits:report_xlsx": Access(read=SCOPED),
    "pits:report_pdf": Access(read=SCOPED),
    "GET /pits": Access(read=SCOPED),
    "GET /pits/{pk}": Access(read=SCOPED, object="pits.pit"),
    "POST /pits": Access(write=SITE_RECORD_EDITORS, object="core.project", via="project"),
    "POST /pits/{pk}/stages": Access(write=SITE_RECORD_EDITORS, object="pits.pit"),
    "POST /pits/{pk}/points": Access(write=SITE_RECORD_EDITORS, object="pits.pit"),
    "POST /pits/{pk}/surveys": Access(write=MONITORING_COMPANY, object="pits.pit"),
    "pits:survey_template": Access(read=SCOPED, object="pits.pit"),
    "pits:survey_upload": Access(read=MONITORING_COMPANY, write=MONITORING_COMPANY,
                                 object="pits.pit"),
    "POST /pits/{pk}/survey-files": Access(write=MONITORING_COMPANY, object="pits.pit"),
}
