"""Who gets through each exchange route's permission gate (core/access.py says how to read
it)."""

from __future__ import annotations

from smartsite.core.access import IMPORTERS, SCOPED, SIGNED_IN, Access

ROUTES = {
    "exchange:import": Access(read=IMPORTERS, write=IMPORTERS),
    "exchange:template": Access(read=IMPORTERS),
    "exchange:report": Access(read=IMPORTERS, ok=404),  # 404 until an import has failed
    "POST /imports/{kind}": Access(write=IMPORTERS),
    "GET /imports/{kind}/template": Access(read=IMPORTERS),
    # -------------------------------------------------------------- webhooks (one's own)
    "exchange:webhooks": Access(read=SIGNED_IN, write=SIGNED_IN),
    "exchange:webhook_active": Access(write=SCOPED, object="exchange.webhook"),
    "exchange:webhook_delete": Access(write=SCOPED, object="exchange.webhook"),
    "exchange:webhook_test": Access(write=SCOPED, object="exchange.webhook"),
    "exchange:delivery_redeliver": Access(write=SCOPED, object="exchange.outboxmessage"),
}
