"""Integration fixtures: real servers on 127.0.0.1 (CI starts them; see .ci/run)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database; override with APIBASE_TEST_POSTGRES_URL."""
    return os.environ.get("APIBASE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
