"""Shared test configuration: pytest rewrites asserts in the reusable contract suites too."""

import pytest

pytest.register_assert_rewrite("app.testing")
