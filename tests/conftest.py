"""Shared test configuration: pytest rewrites asserts in the reusable contract suites too.

``make pytest`` runs the suite on both cores (pytest-xdist, ``-n 2 --dist loadgroup``). The unit tests spread over
both workers; the integration tests share servers' state (one PostgreSQL database, Redis, brokers) and time
subprocesses, so they stay one group that one worker runs in collection order, as a serial run would. The image
tests are a group of their own, last: their build (``scripts/build-images.sh``, minutes of downloads) runs beside
the rest of the suite when ``.ci/run`` starts it early (tests/integration/deploy/test_images.py).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from apibase.infrastructure.persistence.tenancy import tenant_scope

pytest.register_assert_rewrite("apibase.testing")

TESTS = Path(__file__).parent
INTEGRATION = TESTS / "integration"
END_TO_END = TESTS / "e2e"
IMAGES = INTEGRATION / "deploy" / "test_images.py"


@pytest.fixture
def in_tenant() -> Iterator[str]:
    """Bind the tenant that tenant-scoped repositories read, as the authentication middleware does per request."""
    with tenant_scope("default"):
        yield "default"


def xdist_group(path: Path) -> str | None:
    """The worker group a test file belongs to: None for a unit test, which any worker may run."""
    if path == IMAGES:
        return "images"
    if path.is_relative_to(INTEGRATION):
        return "integration"
    if path.is_relative_to(END_TO_END):
        return "e2e"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The image tests last (their build then has the whole run to finish); under xdist, the groups above.

    ``tryfirst``: xdist reads the group markers in its own hook of the same name.
    """
    items.sort(key=lambda item: item.path == IMAGES)
    if not hasattr(config, "workerinput"):
        return
    for item in items:
        if (group := xdist_group(item.path)) is not None:
            item.add_marker(pytest.mark.xdist_group(group))
