"""Who gets through each dust route's permission gate (core/access.py says how to read it)."""

from __future__ import annotations

from smartsite.core.access import (
    CITY_ADMIN,
    DEVICE_MANAGERS,
    INSPECTORS,
    MAINTAINERS,
    PROJECT_MANAGER,
    REGULATORS,
    SCOPED,
    Access,
)

ROUTES = {
    # -------------------------------------------------------------- monitors
    "dust:monitor_list": Access(read=SCOPED, object="dust.monitor"),
    "dust:monitor_add": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS),
    "dust:monitor": Access(read=SCOPED, object="dust.monitor"),
    "dust:monitor_live": Access(read=SCOPED, object="dust.monitor"),
    "dust:monitor_edit": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS,
                                object="dust.monitor"),
    "dust:exceedance_list": Access(read=SCOPED),
    "dust:rejection_list": Access(read=SCOPED),
    "dust:dashboard": Access(read=SCOPED),
    "dust:dashboard_points": Access(read=SCOPED),
    "dust:project": Access(read=SCOPED, object="core.project"),
    "GET /monitors": Access(read=SCOPED, object="dust.monitor"),
    "POST /monitors": Access(write=DEVICE_MANAGERS, object="core.project", via="project"),
    "GET /monitors/{pk}": Access(read=SCOPED, object="dust.monitor"),
    "PATCH /monitors/{pk}": Access(write=DEVICE_MANAGERS, object="dust.monitor"),
    "GET /monitors/{pk}/means": Access(read=SCOPED, object="dust.monitor"),
    # -------------------------------------------------------------- rules
    "dust:rule_list": Access(read=SCOPED),
    "dust:rule_edit": Access(read=CITY_ADMIN, write=CITY_ADMIN, object="dust.dustrule"),
    "GET /dust-rules": Access(read=SCOPED),
    "GET /dust-rules/{code}": Access(read=SCOPED, object="dust.dustrule"),
    "PATCH /dust-rules/{code}": Access(write=CITY_ADMIN, object="dust.dustrule"),
    # -------------------------------------------------------------- inspections, sprays
    "dust:inspection_add": Access(read=INSPECTORS, write=INSPECTORS, object="dust.monitor"),
    "dust:inspection_certificate": Access(read=SCOPED, object="dust.inspection"),
    "GET /monitors/{pk}/inspections": Access(read=SCOPED, object="dust.monitor"),
    "POST /monitors/{pk}/inspections": Access(write=INSPECTORS, object="dust.monitor"),
    "dust:spray_add": Access(read=DEVICE_MANAGERS, write=DEVICE_MANAGERS, object="dust.monitor"),
    "GET /monitors/{pk}/spray-devices": Access(read=SCOPED, object="dust.monitor"),
    "POST /monitors/{pk}/spray-devices": Access(write=DEVICE_MANAGERS, object="dust.monitor"),
    "GET /spray-devices/{pk}": Access(read=SCOPED, object="dust.spraydevice"),
    "PATCH /spray-devices/{pk}": Access(write=DEVICE_MANAGERS, object="dust.spraydevice"),
    # -------------------------------------------------------------- O&M records
    "dust:monitor_maintenance": Access(read=SCOPED, write=MAINTAINERS, object="dust.monitor"),
    "dust:project_maintenance": Access(read=SCOPED, write=MAINTAINERS, object="core.project"),
    "dust:maintenance_end": Access(write=MAINTAINERS, object="dust.maintenancerecord"),
    "GET /maintenance-records": Access(read=SCOPED, object="dust.maintenancerecord"),
    "POST /monitors/{pk}/maintenance-records": Access(write=MAINTAINERS, object="dust.monitor"),
    "GET /maintenance-records/{pk}": Access(read=SCOPED, object="dust.maintenancerecord"),
    "POST /maintenance-records/{pk}/end": Access(write=MAINTAINERS,
                                                 object="dust.maintenancerecord"),
    # -------------------------------------------------------------- monthly reviews
    "dust:review_list": Access(read=SCOPED),
    "dust:review_lags": Access(read=REGULATORS),
    "dust:review": Access(read=SCOPED, write=PROJECT_MANAGER, object="dust.monthlyreview"),
    "GET /monthly-reviews": Access(read=SCOPED, object="dust.monthlyreview"),
    "GET /monthly-reviews/{pk}": Access(read=SCOPED, object="dust.monthlyreview"),
    "POST /monthly-reviews/{pk}/review": Access(write=PROJECT_MANAGER, object="dust.monthlyreview"),
    "POST /monthly-reviews/{pk}/resubmit": Access(write=MAINTAINERS, object="dust.monthlyreview"),
}
