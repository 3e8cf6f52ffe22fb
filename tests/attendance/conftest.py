from __future__ import annotations

import pytest
from support.attendance import build_site


@pytest.fixture
def site(cast):
    build_site(cast)
    return cast
