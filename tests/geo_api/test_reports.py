"""The rep's daily report (JSON and HTML with the map) and who may read it."""

from __future__ import annotations

import base64
import io
import re

from PIL import Image

from tests.factories import login
from tests.geo_api.scenario import build_audit_day


async def _add_action_and_expense(client, d) -> tuple[str, str]:
    r = await client.post(
        "/v1/visit-actions",
        headers=d.rep["headers"],
        json={
            "visit_id": d.visit_a,
            "kind": "competitor_report",
            "payload": {"competitor": "Acme", "price": "9.90"},
        },
    )
    assert r.status_code == 201, r.text
    action = r.json()["id"]
    r = await client.post(
        "/v1/expenses",
        headers=d.rep["headers"],
        json={
            "date": d.day.isoformat(),
            "merchant": "Lawson Nanjing Rd",
            "total": "38.50",
            "currency": "CNY",
            "category_code": "meals",
        },
    )
    assert r.status_code == 201, r.text
    return action, r.json()["id"]


async def test_daily_report_json_and_html(client, world) -> None:
    d = await build_audit_day(client, world)
    action, expense = await _add_action_and_expense(client, d)
    url = f"/v1/reports/daily/{world.users['rep1']}/{d.day.isoformat()}"

    # The rep reads their own report.
    r = await client.get(url, headers=d.rep["headers"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["rep"] == {"id": str(world.users["rep1"]), "name": "Rep1"}
    assert body["date"] == d.day.isoformat()
    visits = {v["visit"]["id"]: v for v in body["visits"]}
    assert set(visits) == {d.visit_a, d.extra["visit_c"]}
    a = visits[d.visit_a]
    assert a["customer_name"] == "Shop A"
    assert a["visit"]["check_in_verdict"]["status"] == "verified"
    assert [x["id"] for x in a["actions"]] == [action]
    assert a["actions"][0]["payload"]["competitor"] == "Acme"
    assert visits[d.extra["visit_c"]]["visit"]["status"] == "planned"
    assert [e["id"] for e in body["expenses"]] == [expense]
    summary = body["summary"]
    assert summary["visits"] == 2
    assert summary["check_ins"] == {"verified": 1}
    assert summary["actions"] == 1
    assert summary["expenses"] == 1
    assert summary["expense_totals"] == [{"currency": "CNY", "total": "38.50"}]
    assert summary["route"]["visited_count"] == 2
    assert {x["kind"] for x in body["deviations"]} >= {"off_route", "missed_visit"}
    assert body["map_url"].endswith("?format=png")

    # The map the JSON points to.
    r = await client.get(body["map_url"], headers=d.rep["headers"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (1200, 900)

    # The same report as one HTML document, by Accept or by ?format=html.
    for headers, suffix in (({"Accept": "text/html"}, ""), ({}, "?format=html")):
        r = await client.get(url + suffix, headers={**d.manager["headers"], **headers})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        assert html.startswith("<!DOCTYPE html>")
        for text in (
            "Shop A",
            "Lawson Nanjing Rd",
            "38.50 CNY",
            "competitor report",
            "verified",
            "off route",
        ):
            assert text in html, text
        (src,) = re.findall(r'<img alt="Map of the day" src="data:image/png;base64,([^"]+)"', html)
        image = Image.open(io.BytesIO(base64.b64decode(src)))
        assert (image.format, image.size) == ("PNG", (1200, 900))


async def test_who_may_read_a_daily_report(client, world) -> None:
    url = f"/v1/reports/daily/{world.users['rep1']}/2025-01-15"
    for who, status in (
        ("rep1", 200),
        ("manager1", 200),
        ("admin", 200),
        ("rep2", 404),  # another rep, same team
        ("manager2", 404),  # another team's manager
        ("admin_b", 404),  # another tenant
    ):
        caller = await login(client, who)
        r = await client.get(url, headers=caller["headers"])
        assert r.status_code == status, (who, r.text)
        if status == 404:
            assert r.json()["code"] == "not_found"
        else:
            assert r.json()["visits"] == []
    r = await client.get(url + "?format=pdf", headers=caller["headers"])
    assert r.status_code == 422
    assert r.json()["code"] == "validation_failed"
    r = await client.get(f"/v1/reports/daily/{world.users['rep1']}/2025-02-30", headers=caller["headers"])
    assert r.status_code == 422
