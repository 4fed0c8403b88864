/**
 * tus uploads end to end against the real server's `/v1/uploads`. The server must announce
 * tus on `OPTIONS /v1/uploads`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { MemoryStorage, NetworkError, type FieldlineClient } from "../src/index.js";
import { nodeFiles } from "../src/node.js";
import { python, startServer, type TestServer } from "./_server.js";
import { newClient, Rest, signedIn } from "./_util.js";

let server: TestServer;
let scratch: string;
let available = false;
let photo: string;

before(async () => {
  server = await startServer();
  scratch = await mkdtemp(join(tmpdir(), "fieldline-ts-uploads-"));
  const probe = await fetch(`${server.baseUrl}/v1/uploads`, {
    method: "OPTIONS",
    headers: { "tus-resumable": "1.0.0" },
  });
  await probe.arrayBuffer();
  available = probe.status !== 404;
  if (!available) return;
  photo = join(scratch, "shelf.jpg");
  // A real JPEG of a few hundred KB (noise does not compress), made with the server's own Pillow.
  await python(
    "import sys, os\nfrom PIL import Image\nImage.frombytes('RGB', (640, 480), os.urandom(640*480*3)).save(sys.argv[1], quality=90)",
    [photo],
  );
});

after(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

function skipUnlessAvailable(_t: TestContext): boolean {
  assert.ok(available, "the server answers OPTIONS /v1/uploads");
  return available;
}

async function repWithVisit(
  email: string,
  extra: Parameters<typeof signedIn>[2] = {},
): Promise<{ rep: FieldlineClient; visitId: string }> {
  const rep = await signedIn(server.baseUrl, email, { files: nodeFiles, uploadChunkSize: 64 * 1024, ...extra });
  await rep.sync();
  const shop = (await rep.list("customer"))[0]!;
  const visitId = await rep.create("visit", { customer_id: shop.id, status: "in_progress" });
  await rep.sync();
  return { rep, visitId };
}

test("a visit photo uploaded over tus becomes the visit's photo", async (t) => {
  if (!skipUnlessAvailable(t)) return;
  const { rep, visitId } = await repWithVisit("rep1@demo.test");
  const mediaId = await rep.upload(photo, "visit_photo", visitId, { filename: "shelf.jpg", contentType: "image/jpeg" });
  assert.ok(mediaId, "the server reports the media id");
  await rep.sync();
  const photos = await rep.list("photo", (p) => p.visit_id === visitId);
  assert.equal(photos.length, 1);
  assert.equal(photos[0]!.media_id, mediaId);
  const manager = await Rest.login(server.baseUrl, "manager1@demo.test");
  const listed = await manager.ok<{ items: { media_id: string }[] }>("GET", `/v1/photos?visit_id=${visitId}`);
  assert.deepEqual(
    listed.items.map((p) => p.media_id),
    [mediaId],
  );
});

test("a receipt uploaded over tus is linked to its expense", async (t) => {
  if (!skipUnlessAvailable(t)) return;
  const { rep, visitId } = await repWithVisit("rep2@demo.test");
  const expenseId = await rep.create("expense", {
    visit_id: visitId,
    merchant: "Cafe",
    total: "18.00",
    currency: "CNY",
  });
  await rep.sync();
  const mediaId = await rep.upload(new Uint8Array(await readFile(photo)), "receipt", expenseId, {
    filename: "receipt.jpg",
    contentType: "image/jpeg",
  });
  assert.ok(mediaId);
  await rep.sync();
  assert.equal((await rep.get("expense", expenseId))?.receipt_media_id, mediaId);
});

test("an upload cut off resumes after an app restart from the server's offset", async (t) => {
  if (!skipUnlessAvailable(t)) return;
  const storage = new MemoryStorage();
  let patches = 0;
  const { rep, visitId } = await repWithVisit("rep3@demo.test", {
    storage,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    fetch: async (input, init) => {
      if (init?.method === "PATCH" && ++patches > 2) throw new TypeError("fetch failed (offline)");
      return fetch(input, init);
    },
  });
  await assert.rejects(rep.upload(photo, "visit_photo", visitId), NetworkError);
  const [state] = await rep.pendingUploads();
  assert.equal(state?.offset, 128 * 1024);

  const restarted = newClient(server.baseUrl, { storage, files: nodeFiles, uploadChunkSize: 64 * 1024 });
  const [result] = await restarted.resumeUploads();
  assert.ok(result?.mediaId, String(result?.error));
  await restarted.sync();
  assert.deepEqual(
    (await restarted.list("photo", (p) => p.visit_id === visitId)).map((p) => p.media_id),
    [result.mediaId],
  );
});

test("a cancelled upload is terminated on the server", async (t) => {
  if (!skipUnlessAvailable(t)) return;
  const storage = new MemoryStorage();
  let patches = 0;
  const { rep, visitId } = await repWithVisit("rep4@demo.test", {
    storage,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    fetch: async (input, init) => {
      if (init?.method === "PATCH" && ++patches > 1) throw new TypeError("fetch failed (offline)");
      return fetch(input, init);
    },
  });
  await assert.rejects(rep.upload(photo, "visit_photo", visitId), NetworkError);
  const [state] = await rep.pendingUploads();
  const online = newClient(server.baseUrl, { storage, files: nodeFiles });
  await online.cancelUpload(state!.id);
  const head = await online.request({
    method: "HEAD",
    path: state!.url!,
    headers: { "tus-resumable": "1.0.0" },
    accept: [404, 410],
  });
  assert.ok([404, 410].includes(head.status));
  assert.deepEqual(await online.pendingUploads(), []);
});
