"""Fuzzing over real HTTP: schemathesis against the OpenAPI document (as a rep and as an admin),
and random push envelopes. No 5xx, no response that contradicts the document.

Both are bounded (examples per operation, examples per envelope) to stay well under a minute.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import anyio
import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from tests.factories import PASSWORD
from tests.ops.live import serve

EXAMPLES_PER_OPERATION = 3
ENVELOPES = 60
#: Signing out would end the session the fuzzer uses; it is covered in tests/api/test_auth.py.
SKIPPED = {("POST", "/v1/auth/logout")}
FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _unlimited(app_settings: Any) -> Any:
    return dataclasses.replace(
        app_settings,
        rate_limit_per_minute=0,
        auth_rate_limit_per_minute=0,
        sync_rate_limit_per_minute=0,
        login_max_failures=0,
        login_max_failures_per_ip=0,
    )


def _sign_in(base: str, who: str) -> dict[str, Any]:
    device = str(uuid.uuid4())
    r = httpx.post(
        f"{base}/v1/auth/token",
        json={"email": f"{who}@test.example", "password": PASSWORD, "device_id": device},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return {"headers": {"Authorization": f"Bearer {r.json()['access_token']}"}, "device_id": device}


def _fuzz_openapi(base: str) -> tuple[int, dict[tuple[str, str, str], str]]:
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    failures: dict[tuple[str, str, str], str] = {}
    calls = 0

    def fuzz_operation(operation: Any, who: str, headers: dict[str, str]) -> None:
        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=base, headers=headers, timeout=30)
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except (AssertionError, BaseExceptionGroup) as exc:
                key = (who, f"{operation.method.upper()} {operation.path}", str(response.status_code))
                failures.setdefault(key, f"{exc}"[:800])

        run()

    for who in ("rep1", "admin"):
        headers = _sign_in(base, who)["headers"]
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) in SKIPPED or operation.path.startswith(
                "/v1/uploads"
            ):
                continue  # tus is a byte protocol, tested by tests/media_api and the SDKs' upload tests

            fuzz_operation(operation, who, headers)
    return calls, failures


async def test_openapi_fuzz_finds_no_server_errors_or_schema_violations(settings, world) -> None:
    with serve(create_app(_unlimited(settings))) as base:
        calls, failures = await anyio.to_thread.run_sync(_fuzz_openapi, base)
    assert calls >= 100
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
MUTATION_KEYS = ("seq", "entity", "id", "op", "hlc", "base_version", "fields")


def _mutations(device: str) -> st.SearchStrategy[Any]:
    field = {
        "seq": st.integers(-5, 2**63) | json_values,
        "entity": st.sampled_from(["visit", "customer", "expense", "user", "route_plan", "nope"])
        | json_values,
        "id": st.uuids().map(str) | json_values,
        "op": st.sampled_from(["upsert", "delete", "evict"]) | json_values,
        "hlc": st.just(f"{1_763_890_271_123:016d}-0000-{device}") | st.text(max_size=40),
        "base_version": st.integers(-1, 2**64) | st.none() | json_values,
        "fields": st.dictionaries(
            st.sampled_from(["notes", "status", "review", "customer_id", "name", "total", "lat"])
            | st.text(max_size=8),
            json_values,
            max_size=4,
        )
        | json_values,
    }
    return st.fixed_dictionaries({}, optional=field) | json_values


def _envelopes(device: str) -> st.SearchStrategy[Any]:
    return (
        st.fixed_dictionaries(
            {},
            optional={
                "schema_version": st.sampled_from([1, 0, 2]) | json_values,
                "client_id": st.just(device) | st.uuids().map(str) | json_values,
                "mutations": st.lists(_mutations(device), max_size=6) | json_values,
            },
        )
        | json_values
    )


def _fuzz_push(base: str) -> list[str]:
    phone = _sign_in(base, "rep1")
    problems: list[str] = []
    with httpx.Client(base_url=base, headers=phone["headers"], timeout=30) as http:

        @settings(
            max_examples=ENVELOPES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(body=_envelopes(phone["device_id"]))
        def run(body: Any) -> None:
            r = http.post("/v1/sync/push", json=body)
            if r.status_code >= 500:
                problems.append(f"{r.status_code} for {body!r}: {r.text[:300]}")
            elif r.status_code == 200:
                out = r.json()
                results = out["results"]
                if not isinstance(out["last_seq"], int) or len(results) != len(body["mutations"]):
                    problems.append(f"results do not match mutations for {body!r}: {out}")
                statuses = {x["status"] for x in results}
                if not statuses <= {"applied", "merged", "rejected", "duplicate", "out_of_order"}:
                    problems.append(f"unknown status in {out}")
            elif not (
                400 <= r.status_code < 500
                and r.headers["content-type"].startswith("application/problem+json")
            ):
                problems.append(f"{r.status_code} {r.headers['content-type']} for {body!r}")
            elif not isinstance(r.json().get("code"), str):
                problems.append(f"problem without code for {body!r}: {r.text[:300]}")

        run()
        # Not JSON at all, and JSON that is too deep or too big for its kind.
        for raw in (
            b"",
            b"{",
            b"\xff\xfe",
            b"[" * 10_000 + b"]" * 10_000,
            b'{"mutations": ' + b"1," * 10 + b"}",
        ):
            r = http.post("/v1/sync/push", content=raw, headers={"Content-Type": "application/json"})
            if not 400 <= r.status_code < 500:
                problems.append(f"{r.status_code} for raw body {raw[:30]!r}")
    return problems


async def test_random_push_envelopes_get_a_4xx_problem_or_per_mutation_results(settings, world) -> None:
    with serve(create_app(_unlimited(settings))) as base:
        problems = await anyio.to_thread.run_sync(_fuzz_push, base)
    assert not problems, "\n".join(problems[:10])


async def test_chunked_body_over_the_limit_is_413_over_real_http(settings, world) -> None:
    app = create_app(dataclasses.replace(_unlimited(settings), max_json_body_bytes=2_000))
    with serve(app) as base:

        def send() -> httpx.Response:
            phone = _sign_in(base, "rep1")
            chunks = (b'{"name": "' if i == 0 else b"x" * 500 for i in range(10))
            headers = {**phone["headers"], "Content-Type": "application/json"}
            return httpx.post(f"{base}/v1/customers", content=chunks, headers=headers, timeout=30)

        r = await anyio.to_thread.run_sync(send)
    assert r.status_code == 413
    assert r.json()["code"] == "payload_too_large"
