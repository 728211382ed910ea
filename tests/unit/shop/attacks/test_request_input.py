"""Input the service cannot honour is refused at the edge, naming what was wrong, never ignored or stored as is.

Text PostgreSQL cannot store (U+0000) is refused on SQLite too, so both databases answer alike; query parameters
an operation does not declare are refused instead of being ignored (a misspelt filter would list everything).
"""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.unit]

PRODUCT = {"sku": "NUL-001", "name": "nul \u0000 here", "price": {"amount": "9.99", "currency": "EUR"}, "stock": 1}


async def test_a_nul_in_a_body_field_is_a_422_naming_the_field(http, admin, expect_problem) -> None:
    for version in ("v1", "v2"):
        problem = expect_problem(
            await http.post(f"/api/{version}/products", json=PRODUCT, headers=admin), 422, "common.validation_failed"
        )
        assert [error["loc"] for error in problem["errors"]] == [["body", "name"]]
    assert (await http.get("/api/v1/products", headers=admin)).json()["total"] == 0


async def test_a_nul_in_a_filter_or_header_is_a_422_naming_it(http, admin, expect_problem) -> None:
    problem = expect_problem(
        await http.get("/api/v2/products?name__contains=%00", headers=admin), 422, "common.validation_failed"
    )
    assert [error["loc"] for error in problem["errors"]] == [["query", "name__contains"]]
    problem = expect_problem(
        await http.get("/api/v2/products", headers={**admin, "X-Note": "a\x00b"}), 422, "common.validation_failed"
    )
    assert [error["loc"] for error in problem["errors"]] == [["header", "x-note"]]


async def test_a_nul_in_a_path_parameter_is_a_422_naming_it(http, admin, expect_problem) -> None:
    response = await http.get("/api/v2/products/a%00b", headers=admin)
    problem = expect_problem(response, 422, "common.validation_failed")
    assert [error["loc"] for error in problem["errors"]] == [["path", "entity_id"]]


async def test_text_without_nul_still_goes_through(http: httpx.AsyncClient, admin) -> None:
    created = await http.post("/api/v2/products", json={**PRODUCT, "name": "C:\\u0000 is just text"}, headers=admin)
    assert created.status_code == 201, created.text


async def test_unknown_list_filters_are_422_with_the_accepted_ones(http, admin, expect_problem) -> None:
    for version in ("v1", "v2"):
        assert (await http.get(f"/api/{version}/products?price__gte=5", headers=admin)).status_code == 200
        problem = expect_problem(
            await http.get(f"/api/{version}/products?stock__gt=10&foo=bar", headers=admin),
            422,
            "common.validation_failed",
        )
        assert problem["detail"].startswith("Unknown query parameters: foo, stock__gt. Accepted: active, ")
        assert "price__gte, price__lte" in problem["detail"]
        assert [error["message"] for error in problem["errors"]] == [
            "unknown query parameter",
            "unknown query parameter; did you mean 'stock__gte'?",
        ]
    orders = await http.get("/api/v2/orders?status__in=paid", headers=admin)
    assert [error["loc"] for error in expect_problem(orders, 422, "common.validation_failed")["errors"]] == [
        ["query", "status__in"]
    ]


async def test_unknown_parameters_on_single_resources_are_refused_too(http, admin, create_product, expect_problem):
    product = await create_product(admin)
    response = await http.get(f"/api/v2/products/{product['id']}?expand=all", headers=admin)
    assert expect_problem(response, 422, "common.validation_failed")["errors"][0]["loc"] == ["query", "expand"]
