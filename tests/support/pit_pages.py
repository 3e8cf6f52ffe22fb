"""A surveyed pit for the page tests (tests/pits/test_pages.py, tests/browser/test_pits.py):
two construction stages, a wall-top point creeping towards its 预警值, a settling ground
point, a strut force and three inclinometer profiles, all measured on days T0 … T0 + 12."""

from __future__ import annotations

import datetime

from support.pits import T0, build_site, rows

DAY = datetime.timedelta(days=1)
NOW = T0 + 12 * DAY + datetime.timedelta(hours=3)


def surveyed_site(cast, now=NOW):
    from smartsite.pits import services

    site = build_site(cast)
    pit = site.pit

    def record(data):
        services.record_survey(pit, data, actor=site.monitor_user, now=now)

    services.add_stage(pit, name="第一层土方开挖", started_on=T0.date(), excavation_depth_m=3)
    services.add_stage(pit, name="第二层土方开挖", started_on=(T0 + 6 * DAY).date(),
                       excavation_depth_m=7)
    # WY-01 (预警值 20 mm, 2 mm/d): creeping at ~1 mm/d, 9.95 mm after 12 days — normal
    # now, at 20 mm in about ten days at this rate.
    wobble = [0.0, 0.1, -0.1, 0.05, -0.05, 0.1, 0.0, -0.1, 0.05, 0.0, -0.05, 0.1, 0.0]
    record(rows("WY-01", [0.0, 0.0, 0.0] + [n + wobble[n] for n in range(1, 11)]))
    record(rows("DB-01", [0.0, 0.0, 0.0, -0.5, -1.2, -2.0]))
    record(rows("ZL-01", [2000, 2500, 3100]))
    for n, at in enumerate((T0, T0 + 5 * DAY, T0 + 10 * DAY)):
        record([services.SurveyRow("CX-01", at, v * (n + 1), depth_m=d, where=f"第 {k} 行")
                for k, (d, v) in enumerate([(0.5, 3.0), (5.0, 4.5), (10.0, 2.0), (20.0, 0.2)],
                                           2)])
    return site
