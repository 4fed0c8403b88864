/** Sessions (login, refresh rotation, expiry, logout) and refused cursors (re-bootstrap). */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AuthExpired, FieldlineError, MemoryStorage, NotLoggedIn } from "../src/index.js";
import { DEMO_PASSWORD, startServer, type TestServer } from "./_server.js";
import { newClient, Rest, signedIn, switchableFetch, type Fetch } from "./_util.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

interface Session {
  accessToken: string;
  refreshToken: string;
  userId: string;
}

const SESSION = "fieldline/session";

async function session(storage: MemoryStorage): Promise<Session> {
  return JSON.parse((await storage.get(SESSION))!) as Session;
}

/** Makes the stored access token one the server refuses (as an expired one would be). */
async function spoilAccessToken(storage: MemoryStorage): Promise<void> {
  const s = await session(storage);
  await storage.set(
    SESSION,
    JSON.stringify({ ...s, accessToken: `${s.accessToken.split(".").slice(0, 2).join(".")}.invalid` }),
  );
}

function counting(): { fetch: Fetch; count: (path: string) => number } {
  const calls: string[] = [];
  return {
    fetch: async (input, init) => {
      calls.push(new URL(input).pathname);
      return fetch(input, init);
    },
    count: (path) => calls.filter((c) => c === path).length,
  };
}

test("wrong credentials are a typed error and leave the client signed out", async () => {
  const client = newClient(server.baseUrl);
  await assert.rejects(client.login("rep1@demo.test", "not the password"), (e: unknown) => {
    assert.ok(e instanceof FieldlineError);
    assert.deepEqual([e.status, e.code], [401, "invalid_credentials"]);
    return true;
  });
  assert.equal(client.loggedIn, false);
  await assert.rejects(client.sync(), NotLoggedIn);
  await assert.rejects(client.create("expense", {}), NotLoggedIn);
});

test("a refused access token is renewed once (concurrent calls share one refresh), the new pair stored first", async () => {
  const storage = new MemoryStorage();
  const net = counting();
  const first = await signedIn(server.baseUrl, "rep1@demo.test", { storage, fetch: net.fetch });
  await first.sync();
  const before = await session(storage);

  await spoilAccessToken(storage);
  const app = newClient(server.baseUrl, { storage, fetch: net.fetch });
  const [report, me, me2] = await Promise.all([
    app.sync(),
    app.request<{ id: string }>({ path: "/v1/me" }),
    app.request<{ id: string }>({ path: "/v1/me" }),
  ]);
  assert.equal(report.rebootstrapped, false);
  assert.equal(me.data.id, before.userId);
  assert.equal(me2.data.id, before.userId);
  assert.equal(net.count("/v1/auth/refresh"), 1, "one refresh for three refused requests");
  const after = await session(storage);
  assert.notEqual(after.refreshToken, before.refreshToken, "refresh tokens rotate");
  assert.notEqual(after.accessToken, before.accessToken);

  // The spent refresh token presented again: the server revokes the whole family (theft
  // detection). The app's next renewal then fails: AuthExpired, and nothing local is lost.
  const reuse = await fetch(`${server.baseUrl}/v1/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: before.refreshToken }),
  });
  assert.equal(reuse.status, 401);
  const shop = (await app.list("customer"))[0]!;
  const visitId = await app.create("visit", { customer_id: shop.id, notes: "written before the session died" });
  await spoilAccessToken(storage);
  const restarted = newClient(server.baseUrl, { storage, fetch: net.fetch });
  await assert.rejects(restarted.sync(), (e: unknown) => {
    assert.ok(e instanceof AuthExpired);
    assert.equal(e.code, "refresh_token_reused");
    return true;
  });
  assert.equal(restarted.loggedIn, false);
  assert.equal(restarted.user?.id, before.userId, "the user's local data stays readable");
  assert.equal((await restarted.pending()).length, 1);
  assert.equal((await restarted.get("visit", visitId))?.notes, "written before the session died");
  assert.ok((await restarted.list("customer")).length > 0);

  await restarted.login("rep1@demo.test", DEMO_PASSWORD);
  const resumed = await restarted.sync();
  assert.equal(resumed.pushed, 1, "the outbox kept through the expiry is pushed after logging in again");
});

test("logout revokes the device's tokens and keeps local data for the next login", async () => {
  const storage = new MemoryStorage();
  const rep = await signedIn(server.baseUrl, "rep2@demo.test", { storage });
  await rep.sync();
  const token = (await session(storage)).accessToken;
  const count = (await rep.list("customer")).length;
  await rep.logout();
  assert.equal(rep.loggedIn, false);
  assert.equal(await storage.get(SESSION), null);
  const revoked = await fetch(`${server.baseUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(revoked.status, 401, "the server refuses the old token");
  await assert.rejects(rep.sync(), NotLoggedIn);
  assert.equal((await rep.list("customer")).length, count);
  await rep.login("rep2@demo.test", DEMO_PASSWORD);
  assert.equal((await rep.sync()).rebootstrapped, false);
});

test("an altered cursor (invalid_cursor) makes the client bootstrap again, keeping its data", async () => {
  const storage = new MemoryStorage();
  const rep = await signedIn(server.baseUrl, "rep4@demo.test", { storage });
  await rep.sync();
  const customers = await rep.list("customer");
  const cursorKey = `fieldline/u/${rep.user!.id}/cursor`;
  assert.ok(await storage.get(cursorKey));
  await storage.set(cursorKey, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  const report = await rep.sync();
  assert.equal(report.rebootstrapped, true);
  assert.deepEqual(await rep.list("customer"), customers);
  assert.equal((await rep.sync()).rebootstrapped, false, "the new cursor is accepted");
});

test("an expired cursor (cursor_expired) rebuilds the replica: the outbox is kept, vanished entities dropped", async () => {
  const net = switchableFetch();
  const rep = await signedIn(server.baseUrl, "rep3@demo.test", { fetch: net.fetch });
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  const gone = await rep.create("visit", { customer_id: shop.id, notes: "will be deleted" });
  const kept = await rep.create("visit", { customer_id: shop.id, notes: "first words" });
  await rep.sync();

  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  assert.equal((await manager.call("DELETE", `/v1/visits/${gone}`)).status, 204);
  // The server prunes its change history: every cursor issued so far is now too old.
  await server.sql("UPDATE sync_clocks SET purged_through = version");
  net.online.on = false;
  await rep.update("visit", kept, { notes: "edited offline" });
  net.online.on = true;

  const report = await rep.sync();
  assert.equal(report.rebootstrapped, true);
  assert.equal(report.pushed, 1, "the outbox went through before the re-bootstrap");
  assert.equal(await rep.get("visit", gone), undefined, "a deletion the new bootstrap skips is still applied");
  assert.equal((await rep.get("visit", kept))?.notes, "edited offline");
  const onServer = await manager.ok<Record<string, unknown>>("GET", `/v1/visits/${kept}`);
  assert.deepEqual(await rep.get("visit", kept), onServer);
  assert.equal((await rep.sync()).rebootstrapped, false);
});
