/** A rep's working day made offline and synced later; an app restart with writes still queued. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FieldlineClient, NetworkError, parseStamp, type Customer, type SyncReport, type Visit } from "../src/index.js";
import { JsonFileStorage } from "../src/node.js";
import { startServer, type TestServer } from "./_server.js";
import { FAST_RETRY, fixAt, Rest, signedIn, switchableFetch } from "./_util.js";

let server: TestServer;
let scratch: string;

before(async () => {
  server = await startServer();
  scratch = await mkdtemp(join(tmpdir(), "fieldline-ts-offline-"));
});

after(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

function located(c: Customer): c is Customer & { lat: number; lon: number } {
  return c.lat !== null && c.lon !== null;
}

test("a rep's day made offline reaches the server at the next sync, with server-computed fields", async () => {
  const net = switchableFetch();
  const rep = await signedIn(server.baseUrl, "rep1@demo.test", { fetch: net.fetch });
  const first = await rep.sync();
  assert.ok(first.pulled > 0, "the bootstrap brings the rep's scope");
  const customers = (await rep.list("customer")).filter(located);
  assert.ok(customers.length > 0);
  const shop = customers[0]!;

  net.online.on = false;
  const visitId = await rep.create("visit", {
    customer_id: shop.id,
    planned_at: new Date().toISOString(),
    status: "planned",
  });
  await rep.update("visit", visitId, { status: "in_progress", check_in: fixAt(shop.lat, shop.lon) });
  const actionId = await rep.create("visit_action", {
    visit_id: visitId,
    kind: "order_intent",
    payload: { items: [{ sku: "SKU-1001", quantity: 24 }], notes: "two cases next week" },
  });
  const today = new Date().toISOString().slice(0, 10);
  const expenseId = await rep.create("expense", {
    visit_id: visitId,
    merchant: "Family Mart",
    date: today,
    total: "36.50",
    currency: "CNY",
    category_code: "meals",
  });
  await rep.update("visit", visitId, {
    status: "completed",
    check_out: fixAt(shop.lat, shop.lon),
    notes: "Met the buyer",
  });

  const pending = await rep.pending();
  assert.equal(pending.length, 5);
  assert.deepEqual(
    pending.map((m) => m.seq),
    [1, 2, 3, 4, 5],
  );
  const stamps = pending.map((m) => m.hlc);
  assert.deepEqual([...stamps].sort(), stamps, "stamps increase with seq");
  for (const s of stamps) assert.equal(parseStamp(s)?.node, rep.deviceId);

  await assert.rejects(rep.sync(), NetworkError);
  assert.equal((await rep.pending()).length, 5, "a failed sync keeps the outbox");
  const offlineView = await rep.get("visit", visitId);
  assert.equal(offlineView?.status, "completed", "reads show pending writes");
  assert.equal(offlineView?.notes, "Met the buyer");
  assert.equal((await rep.list("visit_action", (a) => a.visit_id === visitId)).length, 1);

  net.online.on = true;
  const report = await rep.sync();
  assert.equal(report.pushed, 5);
  assert.deepEqual(report.rejected, []);
  assert.deepEqual(report.conflicts, []);
  assert.equal((await rep.pending()).length, 0);

  const visit = (await rep.get("visit", visitId)) as Visit;
  assert.equal(visit.status, "completed");
  assert.equal(visit.rep_id, rep.user?.id, "the server fills rep_id");
  assert.equal(visit.notes, "Met the buyer");
  assert.ok(visit.check_in_verdict, "the check-in verdict computed by the server arrives with the pull");
  assert.equal((visit.check_in_verdict as { status: string }).status, "verified");

  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  const onServer = await manager.ok<Visit>("GET", `/v1/visits/${visitId}`);
  assert.deepEqual(onServer, visit, "the replica equals the server's view");
  const actions = await manager.ok<{ total: number }>("GET", `/v1/visit-actions?visit_id=${visitId}`);
  assert.equal(actions.total, 1);
  const expense = await manager.ok<{ id: string; total: string; status: string }>("GET", `/v1/expenses/${expenseId}`);
  assert.equal(expense.total, "36.50");
  assert.equal(expense.status, "draft");
  assert.equal((await rep.get("visit_action", actionId))?.kind, "order_intent");
});

test("after an app restart the queued writes are still there and are pushed exactly once", async () => {
  const path = join(scratch, "phone.json");
  const net = switchableFetch();
  const first = await signedIn(server.baseUrl, "rep2@demo.test", {
    storage: new JsonFileStorage(path),
    fetch: net.fetch,
    retry: { ...FAST_RETRY, maxAttempts: 1 },
  });
  await first.sync();
  const shop = (await first.list("customer"))[0]!;
  const visitId = await first.create("visit", { customer_id: shop.id, status: "planned" });
  await first.update("visit", visitId, { notes: "before the restart" });

  // The push reaches the server but its answer is lost: the app is killed before it learns.
  const lost: string[] = [];
  const cut = switchableFetch();
  const losing = new FieldlineClient({
    baseUrl: server.baseUrl,
    storage: new JsonFileStorage(path),
    retry: { ...FAST_RETRY, maxAttempts: 1 },
    fetch: async (input, init) => {
      const res = await cut.fetch(input, init);
      if (new URL(input).pathname === "/v1/sync/push") {
        await res.arrayBuffer();
        lost.push(input);
        throw new TypeError("fetch failed (answer lost)");
      }
      return res;
    },
  });
  await assert.rejects(losing.sync(), NetworkError);
  assert.equal(lost.length, 1);
  net.online.on = false;
  const expenseId = await first.create("expense", { merchant: "Taxi", total: "18.00", currency: "CNY" });

  const restarted = new FieldlineClient({
    baseUrl: server.baseUrl,
    storage: new JsonFileStorage(path),
    retry: FAST_RETRY,
  });
  await restarted.ready();
  assert.equal(restarted.deviceId, first.deviceId, "the device id survives the restart");
  assert.equal(restarted.loggedIn, true, "so does the session");
  assert.equal(restarted.user?.id, first.user?.id);
  assert.deepEqual(
    (await restarted.pending()).map((m) => m.seq),
    [1, 2, 3],
  );
  assert.equal((await restarted.get("visit", visitId))?.notes, "before the restart");

  const report = await restarted.sync();
  assert.equal(report.pushed, 3);
  assert.deepEqual(report.rejected, []);
  assert.equal((await restarted.pending()).length, 0);

  const pull = await restarted.request<{ last_seq: number }>({ path: "/v1/sync/pull" });
  assert.equal(pull.data.last_seq, 3, "the server processed each of the three seqs once");
  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  const visits = await manager.ok<{ items: Visit[] }>("GET", `/v1/visits?customer_id=${shop.id}`);
  assert.equal(visits.items.filter((v) => v.id === visitId).length, 1);
  assert.equal(visits.items.find((v) => v.id === visitId)?.notes, "before the restart");
  assert.equal((await manager.call("GET", `/v1/expenses/${expenseId}`)).status, 200);
});

test("a write the server acknowledged stays visible while the pull that brings it back fails", async () => {
  const pullDown = { on: false };
  const rep = await signedIn(server.baseUrl, "rep6@demo.test", {
    retry: { ...FAST_RETRY, maxAttempts: 2 },
    fetch: async (input, init) => {
      if (pullDown.on && new URL(input).pathname === "/v1/sync/pull") throw new TypeError("fetch failed (offline)");
      return fetch(input, init);
    },
  });
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  const visitId = await rep.create("visit", { customer_id: shop.id, notes: "pushed, not pulled yet" });
  pullDown.on = true;
  await assert.rejects(rep.sync(), NetworkError);
  assert.equal((await rep.pending()).length, 0, "the push went through");
  const acknowledged = await rep.get("visit", visitId);
  assert.equal(acknowledged?.notes, "pushed, not pulled yet");
  assert.equal(acknowledged?.customer_id, shop.id);
  assert.ok((acknowledged?.version ?? 0) > 0, "it carries the version the server gave it");
  pullDown.on = false;
  await rep.sync();
  const manager = await Rest.login(server.baseUrl, "manager2@demo.test");
  assert.deepEqual(await rep.get("visit", visitId), await manager.ok<Visit>("GET", `/v1/visits/${visitId}`));
});

test("the background loop syncs writes and deletions until it is stopped", async () => {
  const rep = await signedIn(server.baseUrl, "rep7@demo.test");
  const reports: SyncReport[] = [];
  const errors: unknown[] = [];
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(done(), "timed out waiting for the loop");
  };
  rep.start(40, { onSync: (r) => void reports.push(r), onError: (e) => void errors.push(e) });
  await until(() => reports.length > 0);
  const expenseId = await rep.create("expense", { merchant: "Parking", total: "10.00", currency: "CNY" });
  await until(() => reports.some((r) => r.pushed > 0));
  assert.ok(await rep.get("expense", expenseId));
  await rep.delete("expense", expenseId);
  const before = reports.length;
  await until(() => reports.slice(before).some((r) => r.pushed === 1));
  await rep.stop();
  const stoppedAt = reports.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(reports.length, stoppedAt, "no sync after stop()");
  assert.deepEqual(errors, []);
  assert.equal(await rep.get("expense", expenseId), undefined);
  const manager = await Rest.login(server.baseUrl, "manager2@demo.test");
  assert.equal((await manager.call("GET", `/v1/expenses/${expenseId}`)).status, 404, "deleted on the server");
});

test("a visit deleted offline hides its actions and photos at once, and the server deletes them", async () => {
  const net = switchableFetch();
  const rep = await signedIn(server.baseUrl, "rep8@demo.test", { fetch: net.fetch });
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  const visitId = await rep.create("visit", { customer_id: shop.id, notes: "wrong shop" });
  const actionId = await rep.create("visit_action", {
    visit_id: visitId,
    kind: "training",
    payload: { topic: "pricing" },
  });
  const photoId = await rep.create("photo", { visit_id: visitId, caption: "shelf" });
  await rep.sync();
  assert.ok(await rep.get("visit_action", actionId));

  net.online.on = false;
  await rep.delete("visit", visitId);
  assert.equal(await rep.get("visit_action", actionId), undefined);
  assert.equal(await rep.get("photo", photoId), undefined);
  assert.deepEqual((await rep.list("visit_action")).filter((a) => a.visit_id === visitId), []);
  assert.deepEqual((await rep.list("photo")).filter((p) => p.visit_id === visitId), []);

  net.online.on = true;
  await rep.sync();
  assert.equal(await rep.get("visit_action", actionId), undefined);
  const manager = await Rest.login(server.baseUrl, "manager2@demo.test");
  for (const path of [`/v1/visit-actions/${actionId}`, `/v1/photos/${photoId}`]) {
    assert.equal((await manager.call("GET", path)).status, 404, `${path} deleted on the server`);
  }
});
