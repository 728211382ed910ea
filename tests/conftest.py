"""Shared test configuration: pytest rewrites asserts in the reusable contract suites too.

``make pytest`` runs the suite on both cores (pytest-xdist, ``-n 2``). The unit test files spread
over both workers, file by file; the integration tests share servers' state (one PostgreSQL database, Redis,
brokers) and time subprocesses, so they stay one group that one worker runs in collection order, as a serial run
would. The image tests are a group of their own, last: their build (``scripts/build-images.sh``, minutes of
downloads) runs beside the rest of the suite when ``.ci/run`` starts it early (tests/integration/deploy/test_images.py).
Test ids must not be random (every worker collects the suite and xdist checks they agree).
"""

from collections.abc import Iterator

import pytest

from apibase.infrastructure.persistence.tenancy import tenant_scope

pytest.register_assert_rewrite("apibase.testing")

#: Node id prefixes (paths from the root directory).
INTEGRATION = "tests/integration"
END_TO_END = "tests/e2e"
IMAGES = f"{INTEGRATION}/deploy/test_images.py"


@pytest.fixture
def in_tenant() -> Iterator[str]:
    """Bind the tenant that tenant-scoped repositories read, as the authentication middleware does per request."""
    with tenant_scope("default"):
        yield "default"


def worker_group(nodeid: str) -> str:
    """The group of tests one worker runs in order: the image tests, the integration tests, the end-to-end tests,
    else the test's file (its module fixtures are made once and its tests keep their order, as ``--dist loadfile``)."""
    path = nodeid.split("::", 1)[0]
    if path == IMAGES:
        return "images"
    for folder in (INTEGRATION, END_TO_END):
        if path.startswith(f"{folder}/"):
            return folder
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadfile`` with the groups above (in the controller; xdist's ``xdist_group`` marks are not read:
    pytest 9 ignores the node id suffix they rely on)."""
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped] # xdist ships no py.typed

    class Grouped(LoadFileScheduling):  # type: ignore[misc] # untyped base
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return Grouped(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The image tests last: their build (when .ci/run started it early) then has the whole run to finish."""
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] == IMAGES)
