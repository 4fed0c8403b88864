"""Unit tests of the SDK's pieces that need no server: storage, clock, backoff, outbox, overlay."""

from __future__ import annotations

import email.utils
import random
import re
import time
from pathlib import Path

import httpx
import pytest
from fieldline_client import FieldlineClient, FieldlineError, MemoryStorage, SqliteStorage
from fieldline_client.hlc import MAX_COUNTER, HybridClock, parse_stamp, uuid7
from fieldline_client.outbox import Mutation, Outbox
from fieldline_client.replica import Replica, overlay
from fieldline_client.storage import TOMBSTONE, commit, read
from fieldline_client.transport import RetryPolicy, retry_after_seconds

pytestmark = pytest.mark.anyio

STAMP = re.compile(r"^\d{16}-\d{4}-[A-Za-z0-9._:~-]{1,64}$")


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        yield MemoryStorage()
    else:
        store = SqliteStorage(tmp_path / "state.db")
        yield store
        store.close()


# ---------------------------------------------------------------------------------- storage
async def test_storage_keys_are_sorted_and_prefix_bounded(storage) -> None:
    await storage.set_many({"outbox/002": "b", "outbox/001": "a", "outboxx": "no", "other/1": "x"})
    assert await storage.keys("outbox/") == ["outbox/001", "outbox/002"]
    assert await storage.get("outbox/001") == "a"
    await storage.delete("outbox/001")
    assert await storage.get("outbox/001") is None
    await storage.delete_many(["outbox/002", "missing"])
    assert await storage.keys("outbox/") == []


async def test_sqlite_storage_survives_reopening(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "s.db")
    await first.set_many({"a": "1", "b": "2"})
    first.close()
    second = SqliteStorage(tmp_path / "s.db")
    assert await second.keys("") == ["a", "b"]
    second.close()


async def test_sqlite_set_many_is_all_or_nothing(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "s.db")
    await store.set("kept", "old")
    with pytest.raises(Exception):  # noqa: B017 - any driver error
        await store.set_many({"kept": "new", "bad": None})  # type: ignore[dict-item]
    assert await store.get("kept") == "old"
    assert await store.get("bad") is None
    store.close()


async def test_commit_writes_and_deletes_together(storage) -> None:
    await storage.set_many({"r/1": "one", "r/2": "two"})
    await commit(storage, {"r/3": "three", "cursor": "c2"}, ["r/1"])
    assert await read(storage, "r/1") is None
    assert await storage.keys("r/") == ["r/2", "r/3"]
    # A crash between the atomic write and the clean-up leaves a tombstone that reads as absent.
    await storage.set("r/9", TOMBSTONE)
    assert await read(storage, "r/9") is None


# ------------------------------------------------------------------------------------ clock
def test_hlc_stamps_increase_even_when_the_wall_clock_stands_still_or_goes_back() -> None:
    wall = [1_763_890_271_123]
    clock = HybridClock("dev-1", lambda: wall[0])
    a = clock.now()
    b = clock.now()
    wall[0] -= 10_000
    c = clock.now()
    assert a < b < c
    assert all(STAMP.match(s) for s in (a, b, c))
    assert a == "0001763890271123-0000-dev-1"
    assert b == "0001763890271123-0001-dev-1"


def test_hlc_counter_overflow_moves_to_the_next_millisecond() -> None:
    clock = HybridClock("n", lambda: 5)
    stamps = [clock.now() for _ in range(MAX_COUNTER + 2)]
    assert stamps == sorted(stamps)
    assert parse_stamp(stamps[-1])[:2] == (6, 0)


def test_hlc_receive_rule_moves_past_a_server_stamp() -> None:
    clock = HybridClock("phone", lambda: 1_000)
    clock.observe("0000000000005000-0007-server")
    assert clock.now() == "0000000000005000-0008-phone"
    # A stamp wildly ahead of our wall clock (an hour) is not adopted.
    clock.observe(f"{1_000 + 3_600_000 * 2:016d}-0000-server")
    assert parse_stamp(clock.now())[0] == 5000


def test_hlc_restores_its_last_stamp() -> None:
    clock = HybridClock("p", lambda: 10, last="0000000000099999-0003-p")
    assert clock.now() == "0000000000099999-0004-p"


def test_hlc_refuses_a_node_id_that_breaks_the_format() -> None:
    with pytest.raises(ValueError):
        HybridClock("has space", lambda: 0)


def test_uuid7_is_time_ordered() -> None:
    ids = [uuid7(lambda i=i: 1_700_000_000_000 + i) for i in range(50)]
    assert ids == sorted(ids)
    assert all(i[14] == "7" for i in ids)


# ---------------------------------------------------------------------------------- backoff
def test_full_jitter_stays_within_the_exponential_envelope() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, rng=random.Random(1))
    for attempt in range(1, 10):
        delays = [policy.delay(attempt) for _ in range(200)]
        bound = min(4.0, 0.5 * 2**attempt)
        assert max(delays) <= bound
        assert min(delays) >= 0.0
        assert max(delays) > bound * 0.8  # jitter spreads over the whole range


def test_retry_after_is_a_floor_for_the_wait() -> None:
    policy = RetryPolicy(base=0.01, cap=0.02, rng=random.Random(1))
    assert policy.delay(1, retry_after=3.0) == 3.0


def test_retry_after_header_in_both_forms() -> None:
    req = httpx.Request("GET", "http://x/")
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "7"}, request=req)) == 7.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    value = retry_after_seconds(httpx.Response(503, headers={"Retry-After": future}, request=req))
    assert value is not None
    assert 25 <= value <= 31
    assert retry_after_seconds(httpx.Response(503, request=req)) is None


# ----------------------------------------------------------------------------------- outbox
async def test_outbox_seq_is_persisted_and_continues_after_reload(storage) -> None:
    box = Outbox(storage)
    await box.load()
    for i in range(3):
        await box.append(
            box.draft("visit", f"id{i}", "upsert", f"{i:016d}-0000-n", fields={"notes": str(i)}), {}
        )
    again = Outbox(storage)
    await again.load()
    assert [m.seq for m in again.pending()] == [1, 2, 3]
    assert again.next_seq == 4
    await again.drop([1, 2, 3])
    third = Outbox(storage)
    await third.load()
    assert len(third) == 0
    assert third.next_seq == 4


async def test_outbox_realign_renumbers_only_unsent_mutations(storage) -> None:
    box = Outbox(storage)
    await box.load()
    await box.append(box.draft("visit", "a", "upsert", "0000000000000001-0000-n", fields={}), {})
    await box.append(box.draft("visit", "b", "upsert", "0000000000000002-0000-n", fields={}), {})
    await box.realign(41)
    assert [(m.seq, m.id) for m in box.ordered()] == [(42, "a"), (43, "b")]
    reloaded = Outbox(storage)
    await reloaded.load()
    assert [(m.seq, m.id) for m in reloaded.ordered()] == [(42, "a"), (43, "b")]
    assert reloaded.next_seq == 44
    await reloaded.mark_pushed()
    await reloaded.realign(100)  # possibly on the server already: must keep its seqs
    assert [m.seq for m in reloaded.ordered()] == [42, 43]


def test_overlay_applies_pending_and_acked_mutations_in_order() -> None:
    base = {"id": "v", "version": 3, "notes": "server", "status": "planned", "outcome": None}
    ms = [
        Mutation(1, "visit", "v", "upsert", "h1", fields={"notes": "mine", "status": "in_progress"}),
        Mutation(
            2,
            "visit",
            "v",
            "upsert",
            "h2",
            fields={"outcome": "sold"},
            state="acked",
            lost_fields=["outcome"],
        ),
    ]
    row = overlay("visit", "v", base, ms)
    assert row == {"id": "v", "version": 3, "notes": "mine", "status": "in_progress", "outcome": None}
    assert base["notes"] == "server"  # the server view is not modified
    gone = overlay("visit", "v", base, [*ms, Mutation(3, "visit", "v", "delete", "h3")])
    assert gone is None
    created = overlay("visit", "n", None, [Mutation(1, "visit", "n", "upsert", "h", fields={"notes": "x"})])
    assert created is not None
    assert created["id"] == "n"
    assert created["version"] == 0
    assert created["notes"] == "x"
    assert created["check_in"] is None


async def test_replica_keeps_the_newer_version_and_prunes_after_a_bootstrap(storage) -> None:
    rep = Replica(storage)
    await rep.load()
    await rep.start_bootstrap()

    def up(i, v, **d):
        return {
            "entity": "visit",
            "id": i,
            "op": "upsert",
            "version": v,
            "data": {"id": i, "version": v, **d},
        }

    await rep.apply_page([up("a", 5, notes="a5"), up("b", 6)], "c1")
    await rep.apply_page([up("a", 4, notes="old copy")], "c2")
    assert rep.get("visit", "a")["notes"] == "a5"
    assert (await rep.finish_bootstrap()) == []
    # A second bootstrap that no longer delivers "b" drops it at the end.
    await rep.start_bootstrap()
    await rep.apply_page([up("a", 7, notes="a7")], "c3")
    assert rep.get("visit", "b") is not None  # kept until the bootstrap completes
    assert await rep.finish_bootstrap() == [("visit", "b")]
    again = Replica(storage)
    await again.load()
    assert again.snapshot() == {("visit", "a"): {"id": "a", "version": 7, "notes": "a7"}}
    assert again.cursor == "c3"
    assert not again.bootstrapping


# --------------------------------------------------------------------- local input checks
async def test_local_writes_refuse_unknown_entities_and_fields_before_queuing() -> None:
    client = FieldlineClient("http://127.0.0.1:9", MemoryStorage())
    with pytest.raises(FieldlineError) as err:
        await client.create("spaceship", {"name": "x"})
    assert err.value.code == "unknown_entity"
    with pytest.raises(FieldlineError) as err:
        await client.create("visit", {"customer_id": "c", "check_in_verdict": {}})
    assert err.value.code == "unknown_field"
    with pytest.raises(FieldlineError) as err:
        await client.update("visit", "00000000-0000-0000-0000-000000000001", {"notes": "x"})
    assert err.value.code == "not_found"
    with pytest.raises(FieldlineError) as err:
        await client.create("visit", {"customer_id": "c", "notes": "x" * 5_100_000})
    assert err.value.code == "payload_too_large"
    assert await client.pending() == []
    await client.close()


async def test_device_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "d.db")
    first = FieldlineClient("http://127.0.0.1:9", store)
    await first.open()
    device = first.device_id
    await first.close()
    second = FieldlineClient("http://127.0.0.1:9", store)
    await second.open()
    assert second.device_id == device
    await second.close()
    other = FieldlineClient("http://127.0.0.1:9", store, device_id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(FieldlineError) as err:
        await other.open()
    assert err.value.code == "device_mismatch"
    await other.close()
    store.close()
