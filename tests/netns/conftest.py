from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostsnap import HostSnapshot


@pytest.fixture
def host_unchanged() -> Iterator[HostSnapshot]:
    """Fails the test if links, namespaces, routes, iptables-save or netns mounts changed."""
    before = HostSnapshot.take()
    yield before
    after = HostSnapshot.take()
    assert not before.diff(after), before.describe(after)
