"""Suite-wide collection order: tests marked ``long`` run first.

``make test`` spreads the suite over one pytest-xdist worker per core; a test that takes minutes, started last,
would keep one worker busy after the other has finished. Moving it to the front lets the short tests fill the
other workers meanwhile.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: order kept otherwise
