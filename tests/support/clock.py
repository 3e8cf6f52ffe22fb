"""The instant the `clock` fixture (tests/conftest.py) sets the process clock to."""

from __future__ import annotations

import datetime

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
#: A Wednesday afternoon in Shanghai (14:30, 06:30 UTC: the same date in both), with whole
#: mornings behind today and yesterday.
CLOCK_AT = datetime.datetime(2026, 11, 25, 14, 30, tzinfo=SHANGHAI)
