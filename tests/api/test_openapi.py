"""The OpenAPI document describes every endpoint with its request and response types."""

from __future__ import annotations


async def test_openapi_document(client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for path in (
        "/v1/auth/token",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/sync/push",
        "/v1/sync/pull",
        "/v1/sync/info",
        "/v1/customers",
        "/v1/customers/{item_id}",
        "/v1/visits/{item_id}/review",
        "/v1/expenses/{item_id}/submit",
        "/v1/route-plans",
        "/v1/visit-actions",
        "/v1/photos",
        "/v1/expense-categories",
        "/v1/products",
        "/v1/users",
        "/v1/teams",
    ):
        assert path in paths, path
    ops = [op for item in paths.values() for op in item.values() if isinstance(op, dict)]
    assert all(op.get("operationId") for op in ops)
    schemas = doc["components"]["schemas"]
    for name in (
        "Customer",
        "CustomerCreate",
        "CustomerUpdate",
        "Visit",
        "Expense",
        "PushRequest",
        "PullResponse",
    ):
        assert name in schemas, name
    assert schemas["Customer"]["properties"]["lat"]
