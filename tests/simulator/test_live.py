"""`smartsite simulate` writes made-up findings only into a database holding the simulated
city (its demo logins); real data is refused. (The live findings themselves are tested in
test_orders.py, on the demo city.)"""

from __future__ import annotations

import pytest

from smartsite.core.errors import DomainError
from smartsite.simulator import orders
from smartsite.workorders.models import Event


def test_simulated_findings_are_refused_without_a_simulated_city(cast):
    with pytest.raises(DomainError, match="没有模拟城市"):
        orders.run_live(every=0, count=1, seed=1)
    assert not Event.objects.exists()
