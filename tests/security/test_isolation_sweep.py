"""Tenant and team isolation, swept over every route of the OpenAPI document that takes a path id.

- An admin of tenant beta (who passes every role check) gets 404 for each of alpha's ids: never a
  2xx, never a 403 that would confirm the id exists.
- A rep of tenant beta cannot tell alpha's ids from ids that do not exist: same status, same code.
- A manager of another team gets 403 or 404 for rep1's records, never a 2xx.
New routes are swept automatically; for a route the sweep does not know, every alpha id is tried.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import login
from tests.security.conftest import AlphaRecords
from tests.security.openapi_walk import Operation, fill_path, minimal, operations_with_path_params

#: Routes that must exist and must answer a strict 404 to another tenant's admin.
KNOWN = {
    "/v1/customers/{item_id}",
    "/v1/visits/{item_id}",
    "/v1/visits/{item_id}/review",
    "/v1/visits/{item_id}/check-in",
    "/v1/visits/{item_id}/check-out",
    "/v1/visit-actions/{item_id}",
    "/v1/expenses/{item_id}",
    "/v1/expenses/{item_id}/review",
    "/v1/expenses/{item_id}/submit",
    "/v1/photos/{item_id}",
    "/v1/route-plans/{item_id}",
    "/v1/users/{item_id}",
    "/v1/teams/{team_id}",
    "/v1/products/{item_id}",
    "/v1/expense-categories/{item_id}",
}


def _prefix(op: Operation, rec: AlphaRecords) -> str | None:
    matches = [p for p in rec.by_prefix if op.path.startswith(p + "/")]
    return max(matches, key=len) if matches else None


def _candidates(op: Operation, rec: AlphaRecords, allowed: set[str] | None = None) -> list[uuid.UUID]:
    prefix = _prefix(op, rec)
    if prefix is not None:
        return [rec.by_prefix[prefix]] if allowed is None or prefix in allowed else []
    return rec.ids(allowed)


async def _call(client: Any, doc: dict[str, Any], op: Operation, ident: uuid.UUID, headers: dict) -> Any:
    schema = op.body_schema(doc)
    body = minimal(doc, schema) if schema is not None else None
    return await client.request(op.method.upper(), fill_path(doc, op, ident), json=body, headers=headers)


#: Routes whose own-tenant control has nothing to show for the swept records (no receipt was read).
CONTROL_MAY_BE_EMPTY = {"/v1/expenses/{item_id}/receipt-text"}


async def _sweep_inputs(client: Any) -> tuple[dict[str, Any], list[Operation]]:
    doc = (await client.get("/schema/openapi.json")).json()
    ops = operations_with_path_params(doc)
    swept = {op.path for op in ops}
    assert swept >= KNOWN, f"routes missing from the OpenAPI document: {sorted(KNOWN - swept)}"
    # tus requests need protocol headers; their scope is tested in tests/media_api.
    return doc, [op for op in ops if not op.path.startswith("/v1/uploads")]


async def test_isolation_sweep(client, world, alpha) -> None:
    doc, ops = await _sweep_inputs(client)
    await _another_tenants_admin_gets_404_for_every_id_route(client, doc, ops, alpha)
    await _another_tenants_rep_cannot_tell_foreign_ids_from_missing_ones(client, doc, ops, alpha)
    await _manager_of_another_team_is_refused_a_reps_records(client, doc, ops, alpha)


async def _another_tenants_admin_gets_404_for_every_id_route(client, doc, ops, alpha: AlphaRecords) -> None:
    admin_a = (await login(client, "admin"))["headers"]
    for op in ops:
        if op.method == "get" and _prefix(op, alpha) is not None and op.path not in CONTROL_MAY_BE_EMPTY:
            r = await _call(client, doc, op, _candidates(op, alpha)[0], admin_a)
            assert r.status_code == 200, f"control: {op.name} as alpha's admin -> {r.status_code} {r.text}"
    admin_b = (await login(client, "admin_b"))["headers"]
    checked = 0
    for op in ops:
        for ident in _candidates(op, alpha):
            r = await _call(client, doc, op, ident, admin_b)
            assert r.status_code != 403, f"{op.name}: 403 reveals that {ident} exists"
            assert not 200 <= r.status_code < 300, f"{op.name}: beta's admin reached alpha's {ident}"
            if op.path in KNOWN:
                assert r.status_code == 404, f"{op.name} -> {r.status_code} {r.text}"
                assert r.json()["code"] == "not_found"
            checked += 1
    assert checked >= len(KNOWN) * 2
    # Nothing of alpha's was changed by the sweep.
    for prefix, ident in alpha.by_prefix.items():
        assert (await client.get(f"{prefix}/{ident}", headers=admin_a)).status_code == 200, prefix


async def _another_tenants_rep_cannot_tell_foreign_ids_from_missing_ones(client, doc, ops, alpha) -> None:
    rep_b = (await login(client, "rep_b"))["headers"]
    for op in ops:
        for ident in _candidates(op, alpha):
            foreign = await _call(client, doc, op, ident, rep_b)
            missing = await _call(client, doc, op, uuid.uuid4(), rep_b)
            assert not 200 <= foreign.status_code < 300, f"{op.name}: beta's rep reached alpha's {ident}"
            assert (foreign.status_code, foreign.json().get("code")) == (
                missing.status_code,
                missing.json().get("code"),
            ), f"{op.name}: alpha's id answers differently from a missing one"


async def _manager_of_another_team_is_refused_a_reps_records(client, doc, ops, alpha) -> None:
    manager2 = (await login(client, "manager2"))["headers"]
    manager1 = (await login(client, "manager1"))["headers"]
    refused = 0
    for op in ops:
        for ident in _candidates(op, alpha, alpha.rep1_owned):
            r = await _call(client, doc, op, ident, manager2)
            assert r.status_code in {403, 404}, f"{op.name} on rep1's {ident} -> {r.status_code} {r.text}"
            refused += 1
    assert refused >= 20
    # Control: rep1's own manager does reach them.
    for prefix in sorted(alpha.rep1_owned):
        r = await client.get(f"{prefix}/{alpha.by_prefix[prefix]}", headers=manager1)
        assert r.status_code == 200, (prefix, r.text)
