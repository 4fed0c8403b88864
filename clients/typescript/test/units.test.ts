/** The pure parts, without a server: clock, ids, encodings, storage adapters, chunking, backoff. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { base64Decode, base64Encode, utf8Encode, utf8Length } from "../src/encoding.js";
import { FieldlineError, NetworkError } from "../src/errors.js";
import { HybridClock, parseStamp } from "../src/hlc.js";
import { retryAfterMs } from "../src/http.js";
import { isUuid, uuidv4, uuidv7 } from "../src/ids.js";
import { MemoryStorage, type StorageAdapter } from "../src/storage.js";
import { JsonFileStorage } from "../src/node.js";
import { foldResult, overlay, type ReplicaRecord } from "../src/replica.js";
import { backoffDelay, withRetry } from "../src/retry.js";
import { sha1Pure } from "../src/sha1.js";
import { takeChunk } from "../src/sync.js";
import { resolveUrl, withQuery } from "../src/urls.js";
import { encodeMetadata } from "../src/tus.js";
import type { Mutation } from "../src/wire.js";

test("HLC stamps have the server's format, order as strings, and never go back", () => {
  let wall = 1_763_890_271_123;
  const clock = new HybridClock("dev-1", () => wall);
  const a = clock.now();
  assert.equal(a, "0001763890271123-0000-dev-1");
  const b = clock.now();
  assert.equal(b, "0001763890271123-0001-dev-1", "same millisecond: the counter moves");
  wall -= 5_000; // the phone's clock is set back
  const c = clock.now();
  assert.ok(c > b, "a clock set back does not make stamps go back");
  clock.observe("0001763890999999-0007-server");
  const d = clock.now();
  assert.equal(d, "0001763890999999-0008-dev-1", "receive rule: past the server's stamp");
  clock.observe("garbage");
  clock.observe("0001000000000000-0000-server");
  assert.ok(clock.now() > d, "old or malformed stamps change nothing");
  assert.deepEqual(parseStamp(d), { ms: 1763890999999, counter: 8, node: "dev-1" });
  assert.throws(() => new HybridClock("bad node!"));
});

test("HLC counter overflow moves to the next millisecond", () => {
  const clock = new HybridClock("n", () => 5);
  clock.observe("0000000000000005-9999-x");
  assert.equal(clock.now(), "0000000000000006-0000-n");
});

test("UUIDv7 ids carry their time and version; v4 ids are random", () => {
  const id = uuidv7(0x0123456789ab);
  assert.ok(isUuid(id));
  assert.equal(id.slice(0, 13), "01234567-89ab");
  assert.equal(id[14], "7");
  assert.ok("89ab".includes(id[19]!));
  const ids = Array.from({ length: 200 }, (_, i) => uuidv7(1_700_000_000_000 + i));
  assert.deepEqual([...ids].sort(), ids, "time-ordered");
  assert.equal(new Set(ids).size, ids.length);
  const v4 = uuidv4();
  assert.equal(v4[14], "4");
  assert.ok(isUuid(v4));
  assert.equal(isUuid("not-a-uuid"), false);
});

test("SHA-1, base64 and UTF-8 agree with Node's own implementations", () => {
  for (const n of [0, 1, 2, 3, 55, 56, 63, 64, 65, 1000, 70_001]) {
    const data = new Uint8Array(randomBytes(n));
    assert.deepEqual(Buffer.from(sha1Pure(data)), createHash("sha1").update(data).digest(), `sha1 of ${n} bytes`);
    const b64 = base64Encode(data);
    assert.equal(b64, Buffer.from(data).toString("base64"), `base64 of ${n} bytes`);
    assert.deepEqual(base64Decode(b64), data);
  }
  for (const text of ["", "plain", "Zhāng 张三 🚚", "naïve café"]) {
    assert.deepEqual(Buffer.from(utf8Encode(text)), Buffer.from(text, "utf8"));
    assert.equal(utf8Length(text), Buffer.byteLength(text, "utf8"));
  }
  assert.throws(() => base64Decode("@@@"));
});

test("tus metadata is comma-separated keys with base64 UTF-8 values", () => {
  const header = encodeMetadata({ kind: "receipt", filename: "收据.jpg", content_type: undefined });
  assert.equal(
    header,
    `kind ${Buffer.from("receipt").toString("base64")},filename ${Buffer.from("收据.jpg").toString("base64")}`,
  );
});

async function storageContract(storage: StorageAdapter): Promise<void> {
  assert.equal(await storage.get("a"), null);
  await storage.set("a", "1");
  await storage.setMany({ "p/1": "x", "p/2": "y", "q/1": "z" });
  assert.equal(await storage.get("a"), "1");
  assert.deepEqual((await storage.keys("p/")).sort(), ["p/1", "p/2"]);
  await storage.deleteMany(["p/1", "missing"]);
  assert.deepEqual(await storage.keys("p/"), ["p/2"]);
  await storage.delete("a");
  assert.equal(await storage.get("a"), null);
  await Promise.all(Array.from({ length: 20 }, (_, i) => storage.set(`c/${i}`, String(i))));
  assert.equal((await storage.keys("c/")).length, 20);
}

test("MemoryStorage keeps the storage contract", async () => {
  await storageContract(new MemoryStorage());
});

test("JsonFileStorage keeps the contract, survives a restart and never leaves a half-written file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "fieldline-ts-json-"));
  try {
    const path = join(dir, "nested", "state.json");
    const first = new JsonFileStorage(path);
    await storageContract(first);
    const reopened = new JsonFileStorage(path);
    assert.equal(await reopened.get("q/1"), "z");
    assert.equal((await reopened.keys("c/")).length, 20);
    JSON.parse(await readFile(path, "utf8"));

    // A write that fails (its temporary file cannot be created) changes nothing, in memory or on disk.
    const blockedPath = join(dir, "blocked.json");
    const blocked = new JsonFileStorage(blockedPath);
    await blocked.set("k", "v");
    await mkdir(`${blockedPath}.${process.pid}.tmp`);
    await assert.rejects(blocked.setMany({ a: "1", b: "2" }));
    assert.equal(await blocked.get("a"), null);
    assert.equal(await blocked.get("k"), "v");
    assert.deepEqual(JSON.parse(await readFile(blockedPath, "utf8")), { k: "v" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const mutation = (seq: number, fields?: Record<string, unknown>, op: "upsert" | "delete" = "upsert"): Mutation => ({
  seq,
  entity: "visit",
  id: "v1",
  op,
  hlc: `000000000000000${seq}-0000-d`,
  ...(fields ? { fields } : {}),
});

test("pending writes are laid over the server's view in seq order", () => {
  const base = { id: "v1", notes: "server", status: "planned" };
  assert.deepEqual(overlay("v1", base, [mutation(1, { notes: "a" }), mutation(2, { status: "completed" })]), {
    id: "v1",
    notes: "a",
    status: "completed",
  });
  assert.equal(overlay("v1", base, [mutation(1, { notes: "a" }), mutation(2, undefined, "delete")]), undefined);
  assert.deepEqual(overlay("v1", undefined, [mutation(1, { notes: "new" })]), { id: "v1", notes: "new" });
  assert.equal(overlay("v1", undefined, []), undefined);
  const queued = mutation(1, { check_in: { lat: 1, lon: 2 } });
  const read = overlay("v1", base, [queued]) as { check_in: { lat: number } };
  read.check_in.lat = 99;
  assert.deepEqual(queued.fields, { check_in: { lat: 1, lon: 2 } }, "a read is a copy");
});

test("an acknowledged write is folded into the replica: kept_server and refused fields show the server's value", () => {
  const current: ReplicaRecord = {
    v: 10,
    g: 1,
    d: { id: "v1", version: 10, notes: "old", outcome: "x", rep_id: "r1" },
  };
  const m = mutation(3, { notes: "mine", outcome: "mine", rep_id: "r2" });
  const folded = foldResult(
    current,
    m,
    {
      seq: 3,
      status: "merged",
      version: 12,
      conflicts: [
        { field: "outcome", outcome: "kept_server", server_value: "theirs", server_hlc: null },
        { field: "rep_id", outcome: "rejected", code: "read_only", server_value: "r1", server_hlc: null },
        { field: "notes", outcome: "overwrote", server_value: "old", server_hlc: null },
      ],
    },
    1,
  );
  assert.deepEqual(folded, {
    v: 12,
    g: 1,
    d: { id: "v1", version: 12, notes: "mine", outcome: "theirs", rep_id: "r1" },
  });
  assert.equal(foldResult(current, m, { seq: 3, status: "rejected" }, 1), undefined, "rejected: no effect");
  assert.equal(
    foldResult(current, m, { seq: 3, status: "applied", version: 9 }, 1),
    undefined,
    "older than the replica",
  );
  assert.equal(
    foldResult(current, mutation(4, undefined, "delete"), { seq: 4, status: "applied", version: 13 }, 1),
    null,
  );
  assert.deepEqual(
    foldResult(
      undefined,
      mutation(5, { notes: "n" }),
      { seq: 5, status: "duplicate", original_status: "applied", version: 3 },
      2,
    ),
    {
      v: 3,
      g: 2,
      d: { id: "v1", notes: "n", version: 3 },
    },
  );
});

test("push chunks stay within the server's count and byte limits and never split a mutation", () => {
  const big = "x".repeat(1000);
  const pending = Array.from({ length: 50 }, (_, i) => mutation(i + 1, { notes: big }));
  assert.equal(takeChunk(pending, 20, 5_000_000).length, 20);
  const bytes = takeChunk(pending, 1000, 10_000);
  assert.ok(bytes.length >= 5 && bytes.length < 10, `${bytes.length} mutations of ~1 KB in 10 KB`);
  assert.ok(JSON.stringify({ schema_version: 1, client_id: "c", mutations: bytes }).length < 10_000);
  assert.equal(
    takeChunk([mutation(1, { notes: "y".repeat(50_000) })], 10, 10_000).length,
    1,
    "a lone big one still goes",
  );
  assert.deepEqual(
    takeChunk(pending, 3, 1e6).map((m) => m.seq),
    [1, 2, 3],
    "in seq order",
  );
});

test("backoff is full jitter under an exponential ceiling, and honours Retry-After", () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelay(policy, 0, () => 0.999999) < 100, true);
  assert.equal(Math.round(backoffDelay(policy, 3, () => 0.5)), 400);
  assert.equal(Math.round(backoffDelay(policy, 10, () => 1)), 1000, "capped");
  assert.equal(
    backoffDelay(policy, 0, () => 0, 2500),
    2500,
  );
  assert.equal(retryAfterMs("7"), 7000);
  assert.equal(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10_000);
  assert.equal(retryAfterMs("soon"), undefined);
});

test("retries cover network errors and 5xx, never 4xx", async () => {
  const waits: number[] = [];
  const deps = { sleep: async (ms: number) => void waits.push(ms), random: () => 1 };
  const policy = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 1000 };
  let calls = 0;
  const value = await withRetry(
    async () => {
      calls++;
      if (calls < 3) throw calls === 1 ? new NetworkError("down") : new FieldlineError(503, "unavailable", "busy");
      return "ok";
    },
    policy,
    deps,
  );
  assert.equal(value, "ok");
  assert.deepEqual(waits, [10, 20]);
  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new FieldlineError(422, "validation_failed", "no");
      },
      policy,
      deps,
    ),
    FieldlineError,
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new NetworkError("down");
      },
      policy,
      deps,
    ),
    NetworkError,
  );
  assert.equal(calls, 4, "gives up after maxAttempts");
});

test("URLs are built and resolved like a browser does, without URL objects", () => {
  const base = "https://api.example.test/v1/uploads";
  for (const ref of [
    "/v1/uploads/abc",
    "abc",
    "https://cdn.example.test/u/1",
    "//other.test/x",
    "../files/1",
    "./a/../b?x=1",
    "../../../up",
  ]) {
    assert.equal(resolveUrl(base, ref), new URL(ref, base).toString(), ref);
  }
  assert.equal(resolveUrl("http://127.0.0.1:8000", "/v1/me"), "http://127.0.0.1:8000/v1/me");
  assert.equal(resolveUrl("http://h:1/api/", "v1/me"), "http://h:1/api/v1/me");
  assert.equal(
    withQuery("http://h/p", { cursor: "a+b/c=", limit: 5, skip: undefined }),
    "http://h/p?cursor=a%2Bb%2Fc%3D&limit=5",
  );
  assert.equal(withQuery("http://h/p?x=1", { y: 2 }), "http://h/p?x=1&y=2");
});
