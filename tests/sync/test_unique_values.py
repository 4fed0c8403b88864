"""Values unique in a tenant (an expense category's ``code``, a product's ``sku``): a second row
with a taken value is refused as that one mutation (``duplicate_value``, the field named), over
push and REST, on both engines; the rest of the batch applies and the push never fails whole."""

from __future__ import annotations

import time
import uuid

import sync.writer as writer_module
from sync.rows import load_holders
from tests.factories import PASSWORD
from tests.sync.helpers import Phone, stamp

NOW_MS = int(time.time() * 1000)


def _category(phone: Phone, ident: uuid.UUID, code: str, ms: int, **fields: str):
    return phone.mutation(
        "expense_category", ident, {"code": code, "name": f"Cat {code}", **fields}, hlc=stamp(ms)
    )


async def _categories(client, phone: Phone) -> dict[str, str]:
    r = await client.get("/v1/expense-categories", headers=phone.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {item["id"]: item["code"] for item in r.json()["items"]}


async def test_push_of_a_taken_code_is_refused_alone_and_its_neighbours_apply(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    first = uuid.uuid4()
    r = await admin.push([_category(admin, first, "MEAL", NOW_MS)])
    assert r.json()["results"][0]["status"] == "applied", r.text

    second, third = uuid.uuid4(), uuid.uuid4()
    r = await admin.push(
        [_category(admin, second, "MEAL", NOW_MS + 1), _category(admin, third, "TAXI", NOW_MS + 2)]
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["last_seq"] == 3
    refused, applied = body["results"]
    assert refused["status"] == "rejected"
    assert refused["error"]["code"] == "duplicate_value"
    assert refused["error"]["field"] == "code"
    assert applied["status"] == "applied"
    codes = await _categories(client, admin)
    assert codes[str(first)] == "MEAL"
    assert codes[str(third)] == "TAXI"
    assert str(second) not in codes


async def test_two_new_rows_with_one_code_in_one_push_keep_the_first(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    a, b = uuid.uuid4(), uuid.uuid4()
    r = await admin.push([_category(admin, a, "FUEL", NOW_MS), _category(admin, b, "FUEL", NOW_MS + 1)])
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied", "rejected"]
    assert r.json()["results"][1]["error"]["code"] == "duplicate_value"
    assert (await _categories(client, admin)).get(str(a)) == "FUEL"


async def test_a_deleted_rows_code_stays_taken_and_the_refusal_says_so(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    old = uuid.uuid4()
    await admin.push([_category(admin, old, "LUNCH", NOW_MS)])
    r = await admin.push([admin.mutation("expense_category", old, op="delete", hlc=stamp(NOW_MS + 1))])
    assert r.json()["results"][0]["status"] == "applied", r.text
    r = await admin.push([_category(admin, uuid.uuid4(), "LUNCH", NOW_MS + 2)])
    error = r.json()["results"][0]["error"]
    assert error["code"] == "duplicate_value"
    assert error["message"] == "expense_category code 'LUNCH' is already used by a deleted expense_category"


async def test_a_row_may_keep_its_own_value_and_edit_other_fields(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    ident = uuid.uuid4()
    await admin.push([_category(admin, ident, "HOTEL", NOW_MS)])
    r = await admin.push([_category(admin, ident, "HOTEL", NOW_MS + 1, daily_limit="150.00")])
    result = r.json()["results"][0]
    assert result["status"] == "applied", result


async def test_a_sku_changed_to_a_taken_one_is_refused_and_the_row_keeps_its_own(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    a, b = uuid.uuid4(), uuid.uuid4()
    r = await admin.push(
        [
            admin.mutation("product", a, {"sku": "SKU-1", "name": "One"}, hlc=stamp(NOW_MS)),
            admin.mutation("product", b, {"sku": "SKU-2", "name": "Two"}, hlc=stamp(NOW_MS + 1)),
        ]
    )
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    r = await admin.push([admin.mutation("product", b, {"sku": "SKU-1"}, hlc=stamp(NOW_MS + 2))])
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["error"] == {
        "code": "duplicate_value",
        "message": "product sku 'SKU-1' is already used",
        "field": "sku",
    }
    got = await client.get(f"/v1/products/{b}", headers=admin.headers)
    assert got.json()["sku"] == "SKU-2"
    # A value freed by a committed change is free again.
    r = await admin.push([admin.mutation("product", a, {"sku": "SKU-9"}, hlc=stamp(NOW_MS + 3))])
    assert r.json()["results"][0]["status"] in {"applied", "merged"}, r.text
    r = await admin.push([admin.mutation("product", b, {"sku": "SKU-1"}, hlc=stamp(NOW_MS + 4))])
    assert r.json()["results"][0]["status"] in {"applied", "merged"}, r.text
    got = await client.get(f"/v1/products/{b}", headers=admin.headers)
    assert got.json()["sku"] == "SKU-1"


async def test_rest_create_with_a_taken_code_is_409_duplicate_value(client, world) -> None:
    admin = await Phone.sign_in(client, "admin")
    body = {"code": "PARKING", "name": "Parking"}
    r = await client.post("/v1/expense-categories", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    again = await client.post("/v1/expense-categories", json=body, headers=admin.headers)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "duplicate_value"
    assert [e["field"] for e in again.json()["errors"]] == ["code"]
    codes = await _categories(client, admin)
    assert list(codes.values()).count("PARKING") == 1


async def test_a_code_taken_after_the_push_read_it_is_refused_on_the_retry(
    client, world, monkeypatch
) -> None:
    """A concurrent writer can commit the same code after the push looked (it reads committed
    rows): the database's key refuses the insert, the push retries its batch and refuses the
    mutation. Simulated by a first look that finds nothing."""
    admin = await Phone.sign_in(client, "admin")
    theirs, ours = uuid.uuid4(), uuid.uuid4()
    r = await admin.push([_category(admin, theirs, "TOLL", NOW_MS)])
    assert r.json()["results"][0]["status"] == "applied", r.text
    looks: list[int] = []

    async def first_look_misses(*args, **kwargs):
        looks.append(1)
        return {} if len(looks) == 1 else await load_holders(*args, **kwargs)

    monkeypatch.setattr(writer_module, "load_holders", first_look_misses)
    r = await admin.push(
        [_category(admin, ours, "TOLL", NOW_MS + 1), _category(admin, uuid.uuid4(), "GIFT", NOW_MS + 2)]
    )
    assert r.status_code == 200, r.text
    assert len(looks) == 2  # the batch was read again
    refused, applied = r.json()["results"]
    assert refused["status"] == "rejected"
    assert refused["error"]["code"] == "duplicate_value"
    assert applied["status"] == "applied"
    codes = await _categories(client, admin)
    assert codes.get(str(theirs)) == "TOLL"
    assert str(ours) not in codes
    assert "GIFT" in codes.values()


async def test_a_users_email_is_unique_across_tenants_and_kept_lowercase(client, world) -> None:
    """Sign-in looks an email up lowercased, in every tenant: an admin's push may not give a user
    an email another user (here, of another tenant) signs in with, and one it gives is stored
    lowercased so that the user can still sign in."""
    admin = await Phone.sign_in(client, "admin")
    rep = world.users["rep1"]
    taken = admin.mutation("user", rep, {"email": "rep_b@test.example"}, hlc=stamp(NOW_MS))
    r = await admin.push([taken])
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "duplicate_value"
    assert result["error"]["field"] == "email"
    renamed = admin.mutation("user", rep, {"email": " Rep.One@Test.EXAMPLE"}, hlc=stamp(NOW_MS + 1))
    r = await admin.push([renamed])
    assert r.json()["results"][0]["status"] == "rejected", r.text  # not an email (a space)
    renamed = admin.mutation("user", rep, {"email": "Rep.One@Test.EXAMPLE"}, hlc=stamp(NOW_MS + 2))
    r = await admin.push([renamed])
    assert r.json()["results"][0]["status"] in {"applied", "merged"}, r.text
    device = str(uuid.uuid4())
    body = {"email": "rep.one@test.example", "password": PASSWORD, "device_id": device}
    signed_in = await client.post("/v1/auth/token", json=body)
    assert signed_in.status_code == 200, signed_in.text


async def test_rest_create_racing_another_writer_is_409_concurrent_write(client, world, monkeypatch) -> None:
    """The same race over REST (no batch to retry): a clear 409 to retry, never a 500."""
    admin = await Phone.sign_in(client, "admin")
    r = await client.post("/v1/products", json={"sku": "RACE-1", "name": "First"}, headers=admin.headers)
    assert r.status_code == 201, r.text

    async def looks_before_the_other_commit(*args, **kwargs):
        return {}

    monkeypatch.setattr(writer_module, "load_holders", looks_before_the_other_commit)
    again = await client.post("/v1/products", json={"sku": "RACE-1", "name": "Second"}, headers=admin.headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "concurrent_write"
    products = (await client.get("/v1/products", headers=admin.headers, params={"limit": 200})).json()
    assert [p["name"] for p in products["items"] if p["sku"] == "RACE-1"] == ["First"]
