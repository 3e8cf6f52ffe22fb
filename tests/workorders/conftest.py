import pytest
from support.orders import DUST_DATA_VALID, Site, dust_check_stand_in

from smartsite.workorders import checks


@pytest.fixture
def site(cast, django_user_model):
    """Project B with a user for every court its orders pass through (support/orders.py)."""
    return Site(cast, django_user_model)


@pytest.fixture(autouse=True)
def dust_check():
    """The dust scenario's automatic check, stood in for (invalid data unless a test says):
    these tests are about the loops, not about what the data proves (tests/dust does that).
    The real check is put back afterwards."""
    DUST_DATA_VALID["value"] = False
    real = checks.get("dust.valid_data_24h")
    checks.register("dust.valid_data_24h")(dust_check_stand_in)
    yield DUST_DATA_VALID
    checks.unregister("dust.valid_data_24h")
    if real is not None:
        checks.register("dust.valid_data_24h")(real)
