"""Bad input gets a clear problem+json with a stable code, and nothing is written."""

from __future__ import annotations

from tests.factories import login


async def _count(client, headers) -> int:
    return (await client.get("/v1/customers", headers=headers)).json()["total"]


async def test_bad_bodies_are_refused_with_codes_and_write_nothing(client, world) -> None:
    admin = await login(client, "admin")
    h = {**admin["headers"], "Content-Type": "application/json"}
    before = await _count(client, admin["headers"])
    cases = [
        (b'{"name": "x",', 400, "malformed_json"),
        (b'{"name": 12}', 422, "validation_failed"),
        (b'{"name": "x", "lat": 91, "lon": 10}', 422, "validation_failed"),
        (b'{"name": "x", "lat": 10}', 422, "validation_failed"),  # lat without lon
        (b'{"address": "no name"}', 422, "validation_failed"),
        (b'{"name": "x", "colour": "red"}', 422, "validation_failed"),
        (b"[1, 2, 3]", 422, "validation_failed"),
        # NUL characters: PostgreSQL cannot store them, so neither engine takes them.
        (b'{"name": "x\\u0000y"}', 422, "validation_failed"),
        (b'{"name": "x", "address": "a\\u0000"}', 422, "validation_failed"),
    ]
    for body, status, code in cases:
        r = await client.post("/v1/customers", content=body, headers=h)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == code, body
        assert {"type", "title", "status", "detail", "code"} <= set(problem)
        assert "Traceback" not in r.text
        assert "SELECT" not in r.text
    r = await client.post("/v1/customers", content=b'{"name": "x", "lat": 91, "lon": 10}', headers=h)
    assert any(e["field"] == "lat" for e in r.json()["errors"])
    assert await _count(client, admin["headers"]) == before


async def test_sign_in_fields_with_control_characters_are_refused(client, world) -> None:
    import uuid

    for body in (
        {"email": "rep1\u0000@a.test", "password": "x", "device_id": str(uuid.uuid4())},
        {"email": "rep1@a.test", "password": "x", "device_id": str(uuid.uuid4()), "device_name": "p\u0000"},
        {"email": "rep1@a.test", "password": "x", "device_id": str(uuid.uuid4()), "platform": "i\tos"},
    ):
        r = await client.post("/v1/auth/token", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation_failed"


async def test_oversized_json_body_is_413(client, world) -> None:
    admin = await login(client, "admin")
    big = b'{"name": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    r = await client.post(
        "/v1/customers", content=big, headers={**admin["headers"], "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"
    assert await _count(client, admin["headers"]) == 4


async def test_unknown_ids_and_routes(client, world) -> None:
    rep = await login(client, "rep1")
    r = await client.get("/v1/visits/00000000-0000-4000-8000-000000000000", headers=rep["headers"])
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = await client.get("/v1/visits/not-a-uuid", headers=rep["headers"])
    assert r.status_code in {400, 404}
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get("/v1/nothing-here", headers=rep["headers"])
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


async def test_bad_query_parameters(client, world) -> None:
    rep = await login(client, "rep1")
    for query in ("near=91,10", "near=abc", "limit=0", "limit=100000", "within_m=-5&near=31,121"):
        r = await client.get(f"/v1/customers?{query}", headers=rep["headers"])
        assert r.status_code in {400, 422}, query
        assert r.json()["code"] in {"validation_failed", "bad_request"}, query


async def test_visit_for_unknown_customer_is_refused(client, world) -> None:
    rep = await login(client, "rep1")
    r = await client.post(
        "/v1/visits", json={"customer_id": "00000000-0000-4000-8000-000000000000"}, headers=rep["headers"]
    )
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert (await client.get("/v1/visits", headers=rep["headers"])).json()["total"] == 0


def test_text_the_database_refuses_is_a_422_not_a_500() -> None:
    """A safety net behind validation: PostgreSQL's refusal of a NUL character is bad input."""
    from unittest.mock import MagicMock

    from sqlalchemy.exc import DBAPIError

    from api.lib.errors import exception_to_problem

    class Refused(Exception):
        sqlstate = "22021"

    request = MagicMock()
    refused = exception_to_problem(request, DBAPIError("INSERT", {}, Refused("invalid byte sequence")))
    assert refused.status_code == 422
    assert refused.content["code"] == "invalid_text"
    other = exception_to_problem(request, DBAPIError("INSERT", {}, Exception("boom")))
    assert other.status_code == 500


async def test_a_date_that_does_not_exist_is_a_422(client, world) -> None:
    manager = await login(client, "manager1")
    h = {**manager["headers"], "Content-Type": "application/json"}
    for day in ("2026-13-01", "2026-02-30", "2026-00-10"):
        body = {"rep_id": str(world.users["rep1"]), "date": day}
        r = await client.post("/v1/route-plans", json=body, headers=h)
        assert r.status_code == 422, (day, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "validation_failed"
    listed = (await client.get("/v1/route-plans", headers=manager["headers"])).json()
    assert listed["total"] == 0
