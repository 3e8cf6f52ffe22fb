"""The live demo's key-post check-ins over real HTTP: on a copy of the seeded demo (`smartsite
demo` on an empty data directory, tests/conftest.py `seeded_demo`), `smartsite serve` runs the
web server and one live round (`simulator.attendance.live.check_ins`, planned for 08:50
Shanghai tomorrow, when nobody has checked in yet) posts the due people's check-ins to
`POST /api/v1/attendance/checkins` with their own tokens and fresh photos; the server runs the
real model and geofence. Real processes, SQLite."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from support.processes import SMARTSITE, Running, clean_env, free_port, port_open

ROUND = """
import datetime, json, random
from smartsite.cli import _setup_django
_setup_django()
from django.utils import timezone
from smartsite.attendance.models import CheckIn
from smartsite.simulator.attendance import live
tomorrow = timezone.localtime(timezone.now()).date() + datetime.timedelta(days=1)
morning = timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time(8, 50)))
before = CheckIn.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
stored = live.check_ins(random.Random(2), morning, url="{url}", limit=3)
rows = [dict(outcome=c.outcome, distance=c.face_distance, photo=bool(c.photo),
             reasons=[r["code"] for r in c.reasons])
        for c in CheckIn.objects.filter(pk__gt=before)]
print(json.dumps(dict(stored=stored, rows=rows)))
"""


def test_a_live_round_checks_people_in_over_http_through_the_real_model(seeded_data_dir):
    env = clean_env(seeded_data_dir)
    port = free_port()
    server = Running([*SMARTSITE, "serve", "--port", str(port)], env)
    try:
        server.wait_for(r"serving on http://")
        deadline = time.monotonic() + 30
        while not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=60) as page:
            assert page.status == 200  # the web worker is up
        done = subprocess.run([SMARTSITE[0], "-c", ROUND.format(url=f"http://127.0.0.1:{port}")],
                              env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.interrupt()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stored"] == 3, done.stderr
    assert len(result["rows"]) == 3
    for row in result["rows"]:
        assert row["photo"] and row["distance"] is not None
        if row["outcome"] != "accepted":  # only a holder without a valid certificate
            assert row["reasons"] == ["no_qualification"], row
        else:
            assert row["distance"] < 0.5
