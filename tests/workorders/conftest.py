import pytest
from support.orders import Site


@pytest.fixture
def site(cast, django_user_model):
    """Project B with a user for every court its orders pass through (support/orders.py)."""
    return Site(cast, django_user_model)
