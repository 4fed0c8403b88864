"""Access and refresh tokens under attack (beyond tests/api/test_auth.py): foreign algorithms and
keys, tokens of disabled or deleted users, other channels, refresh races and expiry."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import update

from api.accounts.auth_service import AuthService
from api.accounts.models import RefreshToken
from api.accounts.schemas import RefreshRequest, TokenPair, TokenRequest
from api.lib.clock import utcnow
from api.lib.errors import Unauthenticated
from tests.factories import PASSWORD, login


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _refused(client, token: str, name: str) -> None:
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, f"{name}: {r.status_code}"
    assert r.json()["code"] == "unauthenticated", name


async def test_foreign_algorithms_keys_and_headers_are_refused(client, world, settings) -> None:
    body = await login(client, "rep1")
    claims = jwt.decode(body["access_token"], settings.secret_key, algorithms=["HS256"])
    claims["role"] = "admin"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "RS256 with the attacker's key": jwt.encode(claims, rsa_key, algorithm="RS256"),
        "ES256 with the attacker's key": jwt.encode(claims, ec_key, algorithm="ES256"),
        "jku pointing elsewhere": jwt.encode(
            claims, rsa_key, algorithm="RS256", headers={"jku": "http://127.0.0.1:9/keys", "kid": "k1"}
        ),
        "embedded jwk": jwt.encode(
            claims,
            "attacker-secret-" + "z" * 40,
            algorithm="HS256",
            headers={"jwk": {"kty": "oct", "k": _b64({"k": "attacker"})}},
        ),
    }
    payload = _b64({**claims, "exp": int(claims["exp"])})
    for alg in ("none", "None", "NONE", "nOnE"):
        cases[f"alg {alg}"] = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{payload}."
        cases[f"alg {alg} with the original signature"] = (
            f"{_b64({'alg': alg, 'typ': 'JWT'})}.{payload}.{body['access_token'].rsplit('.', 1)[1]}"
        )
    cases["no signature segment"] = body["access_token"].rsplit(".", 1)[0]
    cases["empty"] = ""
    cases["garbage"] = "a.b.c"
    for name, token in cases.items():
        await _refused(client, token, name)
    # Only the Authorization header carries a token.
    token = body["access_token"]
    assert (await client.get("/v1/me", params={"token": token})).status_code == 401
    assert (await client.get("/v1/me", params={"access_token": token})).status_code == 401
    assert (
        await client.get("/v1/me", headers={"Cookie": f"token={token}; Authorization={token}"})
    ).status_code == 401
    assert (await client.get("/v1/me", headers={"Authorization": token})).status_code == 401


async def test_disabled_and_deleted_users_lose_access_at_once(client, world) -> None:
    admin = await login(client, "admin")
    rep2 = await login(client, "rep2")
    rep3 = await login(client, "rep3")
    r = await client.patch(
        f"/v1/users/{world.users['rep2']}", json={"is_active": False}, headers=admin["headers"]
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/me", headers=rep2["headers"])).status_code == 401
    r = await client.post("/v1/auth/refresh", json={"refresh_token": rep2["refresh_token"]})
    assert r.status_code == 401
    r = await client.delete(f"/v1/users/{world.users['rep3']}", headers=admin["headers"])
    assert r.status_code == 204
    assert (await client.get("/v1/me", headers=rep3["headers"])).status_code == 401
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": rep3["refresh_token"]})
    ).status_code == 401


async def test_logout_revokes_only_that_device(client, world) -> None:
    phone = await login(client, "rep1", device=uuid.uuid4())
    tablet = await login(client, "rep1", device=uuid.uuid4())
    assert (await client.post("/v1/auth/logout", headers=phone["headers"])).status_code == 204
    assert (await client.get("/v1/me", headers=phone["headers"])).status_code == 401
    assert (await client.get("/v1/me", headers=tablet["headers"])).status_code == 200
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": tablet["refresh_token"]})
    ).status_code == 200


async def _concurrently(session_factory, settings, calls) -> list[object]:
    """Run service calls at once, each in its own session as separate requests would."""

    async def one(call):
        async with session_factory() as session:
            try:
                result = await call(AuthService(session, settings))
                await session.commit()
                return result
            except Unauthenticated as exc:
                await session.rollback()
                return exc.code

    return await asyncio.gather(*(one(c) for c in calls))


async def test_concurrent_refreshes_of_one_token_leave_no_live_pair_behind(
    client, world, session_factory, settings
) -> None:
    body = await login(client, "rep1")
    request = RefreshRequest(refresh_token=body["refresh_token"])
    outcomes = await _concurrently(session_factory, settings, [lambda s: s.refresh(request)] * 4)
    pairs = [o for o in outcomes if isinstance(o, TokenPair)]
    assert len(pairs) <= 1, outcomes
    assert [o for o in outcomes if not isinstance(o, TokenPair)] == ["refresh_token_reused"] * (
        4 - len(pairs)
    )
    # The race was reuse: whatever was issued in it is revoked with the family.
    for pair in pairs:
        r = await client.post("/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
        assert r.status_code == 401


async def test_concurrent_sign_ins_all_succeed(client, world, session_factory, settings) -> None:
    requests = [
        TokenRequest(email="rep1@test.example", password=PASSWORD, device_id=uuid.uuid4()) for _ in range(4)
    ]
    outcomes = await _concurrently(session_factory, settings, [lambda s, r=r: s.login(r) for r in requests])
    assert all(isinstance(o, TokenPair) for o in outcomes), outcomes
    for pair in outcomes:
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert me.status_code == 200


async def test_expired_refresh_token_and_access_token_as_refresh(client, world, session_factory) -> None:
    body = await login(client, "rep1")
    r = await client.post("/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_refresh_token"
    async with session_factory() as session:
        await session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    r = await client.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401
    assert r.json()["code"] == "refresh_token_expired"
