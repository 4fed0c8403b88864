/** Several writers on the same data: convergence, and every lost or refused write reported. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ConflictEvent, type EntityName, type FieldlineClient, type Visit } from "../src/index.js";
import { startServer, type TestServer } from "./_server.js";
import { Rest, signedIn, switchableFetch } from "./_util.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

const MINUTE = 60_000;

async function everything(client: FieldlineClient, entities: EntityName[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const e of entities) {
    for (const item of await client.list(e)) out[`${e}/${(item as { id: string }).id}`] = item;
  }
  return out;
}

test("two devices of one rep and their manager edit the same visit offline, then all converge", async () => {
  // Device B's wall clock runs a minute fast, the manager's a minute slow (both within the server's
  // skew bound), so the last-writer-wins outcome per field is known in advance.
  const netA = switchableFetch();
  const netB = switchableFetch();
  const netM = switchableFetch();
  const a = await signedIn(server.baseUrl, "rep3@demo.test", { fetch: netA.fetch, clock: () => Date.now() + 1000 });
  const b = await signedIn(server.baseUrl, "rep3@demo.test", { fetch: netB.fetch, clock: () => Date.now() + MINUTE });
  const m = await signedIn(server.baseUrl, "manager1@demo.test", {
    fetch: netM.fetch,
    clock: () => Date.now() - MINUTE,
  });
  assert.notEqual(a.deviceId, b.deviceId);
  const seen: Record<string, ConflictEvent[]> = { a: [], b: [], m: [] };
  a.onConflict((e) => void seen.a!.push(e));
  b.onConflict((e) => void seen.b!.push(e));
  m.onConflict((e) => void seen.m!.push(e));

  await a.sync();
  const shop = (await a.list("customer"))[0]!;
  const visitId = await a.create("visit", { customer_id: shop.id, notes: "planned by A" });
  await a.sync();
  await b.sync();
  await m.sync();
  assert.equal((await b.get("visit", visitId))?.notes, "planned by A");
  assert.equal((await m.get("visit", visitId))?.notes, "planned by A");

  for (const net of [netA, netB, netM]) net.online.on = false;
  await m.update("visit", visitId, { notes: "M: call the owner", outcome: "M outcome" });
  await a.update("visit", visitId, { notes: "A: buyer absent", outcome: "A outcome" });
  await b.update("visit", visitId, { notes: "B: buyer met", next_steps: "B: send samples" });
  await a.create("visit_action", {
    visit_id: visitId,
    kind: "complaint",
    payload: { category: "delivery", description: "late delivery", severity: "low" },
  });
  for (const net of [netA, netB, netM]) net.online.on = true;

  const ra = await a.sync();
  const rb = await b.sync();
  const rm = await m.sync();
  assert.deepEqual([ra.conflicts.length, ra.rejected.length], [0, 0], "A wrote first: applied as sent");
  assert.equal(rb.conflicts.length, 1);
  assert.deepEqual(
    rb.conflicts[0]!.conflicts.map((c) => [c.field, c.outcome, c.server_value]),
    [["notes", "overwrote", "A: buyer absent"]],
    "B replaced a value it had not seen, and is told so",
  );
  assert.equal(rm.conflicts.length, 1);
  assert.deepEqual(
    rm.conflicts[0]!.conflicts.map((c) => [c.field, c.outcome, c.server_value]).sort(),
    [
      ["notes", "kept_server", "B: buyer met"],
      ["outcome", "kept_server", "A outcome"],
    ],
    "the manager's older stamps lost both fields, with the server's values reported",
  );
  assert.deepEqual(seen.b, rb.conflicts, "the callback got exactly what the report lists");
  assert.deepEqual(seen.m, rm.conflicts);
  assert.deepEqual(seen.a, []);

  await a.sync();
  await b.sync();
  await m.sync();
  const rest = await Rest.login(server.baseUrl, "manager1@demo.test");
  const onServer = await rest.ok<Visit>("GET", `/v1/visits/${visitId}`);
  assert.equal(onServer.notes, "B: buyer met");
  assert.equal(onServer.outcome, "A outcome");
  assert.equal(onServer.next_steps, "B: send samples");
  for (const client of [a, b, m]) assert.deepEqual(await client.get("visit", visitId), onServer);

  const entities: EntityName[] = [
    "customer",
    "visit",
    "visit_action",
    "expense",
    "route_plan",
    "user",
    "product",
    "expense_category",
  ];
  assert.deepEqual(await everything(a, entities), await everything(b, entities), "both devices hold the same replica");
  const actionsOnServer = await rest.ok<{ items: unknown[] }>("GET", `/v1/visit-actions?visit_id=${visitId}`);
  assert.deepEqual(await m.list("visit_action", (x) => x.visit_id === visitId), actionsOnServer.items);
});

test("merged and rejected writes reach the conflict callback with the reason and the server's value", async () => {
  const net = switchableFetch();
  const loseNextPushAnswer = { on: false };
  const rep = await signedIn(server.baseUrl, "rep4@demo.test", {
    fetch: async (input, init) => {
      const res = await net.fetch(input, init);
      if (loseNextPushAnswer.on && new URL(input).pathname === "/v1/sync/push") {
        loseNextPushAnswer.on = false;
        await res.arrayBuffer();
        throw new TypeError("fetch failed (answer lost)");
      }
      return res;
    },
  });
  const events: ConflictEvent[] = [];
  const unsubscribe = rep.onConflict((e) => void events.push(e));
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  const reviewed = await rep.create("visit", { customer_id: shop.id, status: "in_progress" });
  const doomed = await rep.create("visit", { customer_id: shop.id, notes: "to be cancelled" });
  await rep.sync();

  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  await manager.ok("POST", `/v1/visits/${reviewed}/review`, { status: "approved", comment: "fine" });
  assert.equal((await manager.call("DELETE", `/v1/visits/${doomed}`)).status, 204);

  net.online.on = false;
  await rep.update("visit", reviewed, { status: "completed" }); // locked after the review
  await rep.update("visit", reviewed, { notes: "thanks", rep_id: manager.user.id }); // rep_id is not the rep's to write
  await rep.update("visit", doomed, { notes: "still going?" }); // deleted meanwhile
  net.online.on = true;
  loseNextPushAnswer.on = true; // the server merges and refuses, but its answer is lost
  const report = await rep.sync();

  assert.equal(events.length, 3, "the retried push brings back the original results");
  assert.ok(events.every((e) => e.duplicate));
  const [locked, readOnly, deleted] = events as [ConflictEvent, ConflictEvent, ConflictEvent];
  assert.equal(locked.status, "rejected");
  assert.equal(locked.error?.code, "locked");
  assert.deepEqual(
    locked.conflicts.map((c) => [c.field, c.code, c.server_value]),
    [["status", "locked", "in_progress"]],
  );
  assert.equal(readOnly.status, "merged");
  assert.deepEqual(
    readOnly.conflicts.map((c) => [c.field, c.outcome, c.code, c.server_value]),
    [["rep_id", "rejected", "read_only", rep.user?.id]],
  );
  assert.equal(deleted.status, "rejected");
  assert.equal(deleted.error?.code, "deleted");
  assert.equal(deleted.id, doomed);
  assert.deepEqual(report.rejected, [locked, deleted]);
  assert.deepEqual(report.conflicts, [readOnly]);

  const visit = await rep.get("visit", reviewed);
  assert.equal(visit?.status, "in_progress", "the refused status is not shown");
  assert.equal(visit?.notes, "thanks", "the accepted field is");
  assert.equal(visit?.rep_id, rep.user?.id);
  assert.equal(await rep.get("visit", doomed), undefined, "the deletion reached the replica");
  assert.equal((await rep.pending()).length, 0, "refused writes leave the outbox");

  unsubscribe();
  net.online.on = false;
  await rep.update("visit", reviewed, { status: "cancelled" });
  net.online.on = true;
  await rep.sync();
  assert.equal(events.length, 3, "an unsubscribed callback is not called");
});

test("a customer handed to another rep is evicted from the first rep's replica and arrives in the other's", async () => {
  const rep1 = await signedIn(server.baseUrl, "rep1@demo.test");
  const rep2 = await signedIn(server.baseUrl, "rep2@demo.test");
  await rep1.sync();
  await rep2.sync();
  const shop = (await rep1.list("customer"))[0]!;
  assert.equal(await rep2.get("customer", shop.id), undefined);

  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  await manager.ok("PATCH", `/v1/customers/${shop.id}`, { assigned_rep_id: rep2.user!.id });

  const gone = await rep1.sync();
  assert.deepEqual(gone.evicted, [{ entity: "customer", id: shop.id }]);
  assert.equal(await rep1.get("customer", shop.id), undefined, "evicted: the local copy is removed");
  const arrived = await rep2.sync();
  assert.deepEqual(arrived.evicted, []);
  assert.equal((await rep2.get("customer", shop.id))?.assigned_rep_id, rep2.user!.id);
});
