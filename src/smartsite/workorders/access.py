"""Who gets through each route of the event and disposal centers (core/access.py says how to
read it). Which order actions a user may take is the loop engine's business (tested in
tests/workorders); the gate of the action route is seeing the order."""

from __future__ import annotations

from smartsite.core.access import (
    CITY_ADMIN,
    PENALISERS,
    SCOPED,
    SIGNED_IN,
    SUPERVISING_REGULATORS,
    Access,
)

ROUTES = {
    # -------------------------------------------------------------- events
    "workorders:todo": Access(read=SCOPED),
    "workorders:event_ignore": Access(write=SUPERVISING_REGULATORS, object="workorders.event"),
    "workorders:event_dispatch": Access(write=SUPERVISING_REGULATORS, object="workorders.event"),
    "workorders:project_timeline": Access(read=SCOPED, object="core.project"),
    "GET /events": Access(read=SCOPED, object="workorders.event"),
    "GET /events/{pk}": Access(read=SCOPED, object="workorders.event"),
    "POST /events/{pk}/ignore": Access(write=SUPERVISING_REGULATORS, object="workorders.event"),
    # -------------------------------------------------------------- orders
    "workorders:order_list": Access(read=SCOPED, object="workorders.workorder"),
    # each selected order is checked on its own; refusals are listed on the page
    "workorders:bulk_reassign": Access(write=SIGNED_IN),
    "workorders:order": Access(read=SCOPED, object="workorders.workorder"),
    "workorders:mobile_order": Access(read=SCOPED, object="workorders.workorder"),
    "workorders:order_act": Access(write=SCOPED, object="workorders.workorder"),
    "workorders:penalty_add": Access(write=PENALISERS, object="workorders.workorder"),
    "workorders:attachment": Access(read=SCOPED, object="workorders.orderattachment"),
    "workorders:mobile": Access(read=SCOPED),
    "GET /orders": Access(read=SCOPED, object="workorders.workorder"),
    "POST /orders": Access(write=SUPERVISING_REGULATORS, object="core.project", via="project"),
    "GET /orders/{pk}": Access(read=SCOPED, object="workorders.workorder"),
    "POST /orders/{pk}/actions": Access(write=SCOPED, object="workorders.workorder"),
    "POST /orders/{pk}/penalties": Access(write=PENALISERS, object="workorders.workorder"),
    # -------------------------------------------------------------- notifications (one's own)
    "workorders:notifications": Access(read=SIGNED_IN),
    "workorders:notifications_read": Access(write=SIGNED_IN),
    "workorders:notification_open": Access(read=SCOPED, object="workorders.notification", ok=302),
    "GET /notifications": Access(read=SIGNED_IN),
    "POST /notifications/read": Access(write=SIGNED_IN),
    # -------------------------------------------------------------- loop policies
    "workorders:policy_list": Access(read=SCOPED),
    "workorders:policy": Access(read=SCOPED, object="workorders.looppolicy"),
    "workorders:policy_edit": Access(read=CITY_ADMIN, write=CITY_ADMIN,
                                     object="workorders.looppolicy"),
    "GET /policies": Access(read=SCOPED, object="workorders.looppolicy"),
    "GET /policies/{pk}": Access(read=SCOPED, object="workorders.looppolicy"),
}
