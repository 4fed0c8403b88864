"""Sign-in, token validation, refresh rotation and reuse detection, logout."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import jwt

from api.lib.clock import utcnow
from tests.factories import PASSWORD, login


async def test_login_returns_contract_fields(client, world) -> None:
    body = await login(client, "rep1")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"] == {
        "id": str(world.users["rep1"]),
        "tenant_id": str(world.tenant_a),
        "role": "rep",
        "name": "Rep1",
    }
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"sub", "tid", "role", "did", "exp", "iat", "jti"} <= set(claims)
    assert claims["did"] == body["device_id"]
    me = await client.get("/v1/me", headers=body["headers"])
    assert me.status_code == 200
    assert me.json()["email"] == "rep1@test.example"


async def test_wrong_password_and_unknown_email_are_the_same_401(client, world) -> None:
    for email in ("rep1@test.example", "nobody@test.example"):
        r = await client.post(
            "/v1/auth/token",
            json={"email": email, "password": "nope" + PASSWORD, "device_id": str(uuid.uuid4())},
        )
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_credentials"


def _forge(claims: dict, key: str, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


async def test_expired_tampered_and_alg_none_tokens_are_refused(client, world, settings) -> None:
    body = await login(client, "rep1")
    claims = jwt.decode(body["access_token"], settings.secret_key, algorithms=["HS256"])
    expired = dict(
        claims,
        exp=int((utcnow() - timedelta(minutes=1)).timestamp()),
        iat=int((utcnow() - timedelta(minutes=20)).timestamp()),
    )
    cases = {
        "expired": _forge(expired, settings.secret_key),
        "wrong key": _forge(claims, "another-secret-" + "y" * 40),
    }
    header, payload, sig = body["access_token"].split(".")
    promoted = json.loads(base64.urlsafe_b64decode(payload + "=="))
    promoted["role"] = "admin"
    cases["tampered payload"] = ".".join(
        [header, base64.urlsafe_b64encode(json.dumps(promoted).encode()).rstrip(b"=").decode(), sig]
    )
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    cases["alg none"] = f"{none_header}.{payload}."
    cases["HS512 confusion"] = _forge(claims, settings.secret_key, "HS512")
    for name, token in cases.items():
        r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.json()["code"] == "unauthenticated", name
    assert (await client.get("/v1/me")).status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client, world) -> None:
    first = await login(client, "rep1")
    r = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The rotated token works once more...
    r = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 200
    third = r.json()
    # ...but presenting an already-used one is theft: the whole family is revoked.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["code"] == "refresh_token_reused"
    r = await client.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert r.status_code == 401
    # A different device's sign-in is not affected.
    other = await login(client, "rep1", device=uuid.uuid4())
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_logout_revokes_access_and_refresh_tokens_of_the_device(client, world) -> None:
    body = await login(client, "rep2")
    assert (await client.get("/v1/me", headers=body["headers"])).status_code == 200
    r = await client.post("/v1/auth/logout", headers=body["headers"])
    assert r.status_code == 204
    assert (await client.get("/v1/me", headers=body["headers"])).status_code == 401
    r = await client.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401
    again = await login(client, "rep2", device=uuid.UUID(body["device_id"]))
    assert (await client.get("/v1/me", headers=again["headers"])).status_code == 200


async def test_unknown_refresh_token(client, world) -> None:
    r = await client.post("/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_refresh_token"
