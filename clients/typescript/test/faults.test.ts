/** The network cut at random points during push and pull: no write lost, none applied twice. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FieldlineError, MemoryStorage, type EntityName, type FieldlineClient } from "../src/index.js";
import { startServer, type TestServer } from "./_server.js";
import { faultyFetch, newClient, prng, Rest, signedIn } from "./_util.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

const KINDS: EntityName[] = ["visit", "visit_action", "expense"];

async function snapshot(client: FieldlineClient): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const e of KINDS) for (const item of await client.list(e)) out.set(`${e}/${item.id}`, item);
  return out;
}

test("random network cuts before and after the server handled push and pull lose and duplicate nothing", async () => {
  const faults = faultyFetch({ rate: 0.4, seed: 20261123, paths: /^\/v1\/sync\// });
  const rep = await signedIn(server.baseUrl, "rep5@demo.test", {
    fetch: faults.fetch,
    retry: { maxAttempts: 60, baseDelayMs: 1, maxDelayMs: 8 },
    pullLimit: 9, // many small pages: more places to cut
  });
  const conflicts: unknown[] = [];
  rep.onConflict((e) => void conflicts.push(e));
  await rep.sync();
  const shops = await rep.list("customer");
  assert.ok(shops.length >= 3);

  const random = prng(7);
  const expected = new Map<string, Record<string, unknown>>();
  let writes = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3; i++) {
      const shop = shops[Math.floor(random() * shops.length)]!;
      const visitId = await rep.create("visit", { customer_id: shop.id, notes: `r${round} v${i}` });
      const actionId = await rep.create("visit_action", {
        visit_id: visitId,
        kind: "competitor_report",
        payload: { competitor: `Rival ${round}.${i}`, price: "9.90" },
      });
      const expenseId = await rep.create("expense", {
        visit_id: visitId,
        merchant: `Shop ${round}.${i}`,
        total: "12.00",
        currency: "CNY",
      });
      await rep.update("visit", visitId, { status: "in_progress", outcome: `first ${round}.${i}` });
      await rep.update("expense", expenseId, { total: `${10 + i}.${round}0`, notes: "corrected" });
      await rep.update("visit", visitId, { status: "completed", outcome: `final ${round}.${i}` });
      writes += 6;
      expected.set(`visit/${visitId}`, {
        notes: `r${round} v${i}`,
        status: "completed",
        outcome: `final ${round}.${i}`,
      });
      expected.set(`visit_action/${actionId}`, {
        visit_id: visitId,
        payload: { competitor: `Rival ${round}.${i}`, price: "9.90" },
      });
      expected.set(`expense/${expenseId}`, {
        total: `${10 + i}.${round}0`,
        notes: "corrected",
        merchant: `Shop ${round}.${i}`,
      });
    }
    const report = await rep.sync();
    assert.deepEqual(report.rejected, []);
  }

  const lost = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
  assert.ok((faults.stats.before["/v1/sync/push"] ?? 0) > 0, "some pushes never reached the server");
  assert.ok((faults.stats.after["/v1/sync/push"] ?? 0) > 0, "some were handled but their answer was lost");
  assert.ok((faults.stats.before["/v1/sync/pull"] ?? 0) > 0);
  assert.ok((faults.stats.after["/v1/sync/pull"] ?? 0) > 0);
  assert.ok(lost(faults.stats.before) + lost(faults.stats.after) >= 10);

  assert.equal((await rep.pending()).length, 0);
  assert.deepEqual(conflicts, [], "a retried mutation never conflicts with its own first delivery");
  faults.enabled.on = false;
  const seq = await rep.request<{ last_seq: number }>({ path: "/v1/sync/pull" });
  assert.equal(seq.data.last_seq, writes, "the server processed every seq exactly once");

  // What the server holds, seen by a fresh device that never saw a fault.
  const fresh = await signedIn(server.baseUrl, "rep5@demo.test");
  await fresh.sync();
  const truth = await snapshot(fresh);
  const mine = await snapshot(rep);
  assert.deepEqual(mine, truth, "the faulty device's replica equals the server's view");
  assert.equal(truth.size, expected.size, "nothing created twice, nothing missing");
  for (const [key, fields] of expected) {
    const item = truth.get(key) as Record<string, unknown> | undefined;
    assert.ok(item, `${key} reached the server`);
    for (const [f, v] of Object.entries(fields)) assert.deepEqual(item[f], v, `${key}.${f}`);
  }
  const manager = await Rest.login(server.baseUrl, "manager2@demo.test");
  const logged = await manager.ok<{ items: { entity_id: string }[] }>("GET", "/v1/sync/conflicts?limit=500");
  const ours = new Set([...expected.keys()].map((k) => k.split("/")[1]));
  assert.deepEqual(
    logged.items.filter((c) => ours.has(c.entity_id)),
    [],
    "the server logged no conflict either",
  );
});

test("5xx and 429 answers are retried with backoff, and Retry-After is honoured", async () => {
  const problem = (status: number, code: string, retryAfter: string): Response =>
    new Response(JSON.stringify({ code, status, detail: code }), {
      status,
      headers: { "content-type": "application/problem+json", "retry-after": retryAfter },
    });
  const answers: Record<string, Response[]> = {};
  const waits: number[] = [];
  const rep = await signedIn(server.baseUrl, "rep6@demo.test", {
    fetch: async (input, init) => answers[new URL(input).pathname]?.shift() ?? fetch(input, init),
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 },
  });
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  await rep.create("visit", { customer_id: shop.id });
  answers["/v1/sync/push"] = [problem(503, "unavailable", "3")];
  answers["/v1/sync/pull"] = [problem(429, "rate_limited", "2"), new Response("bad gateway", { status: 502 })];
  const report = await rep.sync();
  assert.equal(report.pushed, 1);
  // push: 503 + Retry-After 3 s; pull: 429 + Retry-After 2 s, then a bare 502 on the second
  // attempt: half (full jitter, random() = 0.5) of base * 2^1.
  assert.deepEqual(waits, [3000, 2000, 100]);
});

test("a push refused for its envelope (4xx) stops at once, without retries, and keeps the outbox", async () => {
  const calls: string[] = [];
  const counting = async (input: string, init?: RequestInit): Promise<Response> => {
    calls.push(`${init?.method ?? "GET"} ${new URL(input).pathname}`);
    return fetch(input, init);
  };
  const pushes = (): number => calls.filter((c) => c === "POST /v1/sync/push").length;
  const rep = await signedIn(server.baseUrl, "rep7@demo.test", { fetch: counting, schemaVersion: 99 });
  await rep.create("expense", { merchant: "Kiosk", total: "3.00", currency: "CNY" });
  calls.length = 0;
  await assert.rejects(rep.sync(), (e: unknown) => {
    assert.ok(e instanceof FieldlineError);
    assert.deepEqual([e.status, e.code], [409, "schema_version_unsupported"]);
    return true;
  });
  assert.equal(pushes(), 1, "not retried");
  assert.equal((await rep.pending()).length, 1);

  // A client whose device id is not the one its token was issued to: 403 client_mismatch.
  const storage = new MemoryStorage();
  await signedIn(server.baseUrl, "rep7@demo.test", { storage, deviceId: "7b0c2a8e-4c1e-4d8e-9a55-0f4f2b1d9e01" });
  const mismatched = newClient(server.baseUrl, {
    storage,
    fetch: counting,
    deviceId: "7b0c2a8e-4c1e-4d8e-9a55-0f4f2b1d9e02",
  });
  await mismatched.create("expense", { merchant: "Kiosk", total: "4.00", currency: "CNY" });
  calls.length = 0;
  await assert.rejects(
    mismatched.sync(),
    (e: unknown) => e instanceof FieldlineError && e.status === 403 && e.code === "client_mismatch",
  );
  assert.equal(pushes(), 1);
  assert.equal((await mismatched.pending()).length, 1);
});

test("a batch the server keeps failing on (5xx) is split until the mutations before the bad one get through", async () => {
  const sizes: number[] = [];
  const rep = await signedIn(server.baseUrl, "rep8@demo.test", {
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    fetch: async (input, init) => {
      if (new URL(input).pathname === "/v1/sync/push") {
        const body = JSON.parse(String(init?.body)) as { mutations: { fields?: { merchant?: string } }[] };
        sizes.push(body.mutations.length);
        if (body.mutations.some((m) => m.fields?.merchant === "poison")) {
          return new Response(JSON.stringify({ code: "internal_error", status: 500, detail: "boom" }), {
            status: 500,
            headers: { "content-type": "application/problem+json" },
          });
        }
      }
      return fetch(input, init);
    },
  });
  const good = [];
  for (let i = 0; i < 5; i++)
    good.push(await rep.create("expense", { merchant: `fine ${i}`, total: "1.00", currency: "CNY" }));
  await rep.create("expense", { merchant: "poison", total: "1.00", currency: "CNY" });
  await rep.create("expense", { merchant: "after", total: "1.00", currency: "CNY" });
  await assert.rejects(rep.sync(), (e: unknown) => e instanceof FieldlineError && e.status === 500);
  assert.deepEqual(
    (await rep.pending()).map((m) => m.fields?.merchant),
    ["poison", "after"],
    "everything before the failing mutation went through; order is kept",
  );
  // 7 fails twice → 3 (fine) → 3 with the poison fails twice → 1, 1 (fine) → the poison alone
  // fails twice and the sync stops: nothing after it is sent.
  assert.deepEqual(sizes, [7, 7, 3, 3, 3, 1, 1, 1, 1]);
  for (const id of good) assert.ok(await rep.get("expense", id));
});
