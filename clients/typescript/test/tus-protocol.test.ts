/** The tus 1.0 client against a protocol-level tus server: chunks, checksums, resume, termination. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { MemoryStorage, NetworkError, type FieldlineClient } from "../src/index.js";
import { JsonFileStorage, nodeFiles } from "../src/node.js";
import { TusServer } from "./_tus_server.js";
import { newClient, type Fetch } from "./_util.js";

const KB = 1024;
const VISIT = "01a209d4-c356-7e98-a768-ae776dd4fd0f";
let tus: TusServer;
let scratch: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "fieldline-ts-tus-"));
});

after(async () => {
  await tus?.stop();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  await tus?.stop();
  tus = new TusServer();
  await tus.start();
});

async function client(extra: Parameters<typeof newClient>[1] = {}): Promise<FieldlineClient> {
  const c = newClient(tus.baseUrl, { uploadChunkSize: 16 * KB, ...extra });
  await c.login("rep@example.test", "pw");
  return c;
}

/** Lets `passes` PATCHes through, then cuts the network for good (`"before"`: the next PATCH
 * never arrives; `"after"`: it arrives, its answer is lost). */
function cutAfterPatches(passes: number, where: "before" | "after"): Fetch {
  let seen = 0;
  let dead = false;
  return async (input, init) => {
    if (dead) throw new TypeError("fetch failed (offline)");
    if (init?.method === "PATCH" && ++seen > passes) {
      dead = true;
      if (where === "before") throw new TypeError("fetch failed (offline)");
      await (await fetch(input, init)).arrayBuffer();
      throw new TypeError("fetch failed (answer lost)");
    }
    return fetch(input, init);
  };
}

test("an upload goes in checksummed chunks with its metadata, and resolves to the media id", async () => {
  const c = await client();
  const data = new Uint8Array(randomBytes(100 * KB + 123));
  const mediaId = await c.upload(data, "visit_photo", VISIT, { filename: "货架.jpg", contentType: "image/jpeg" });
  const [upload] = [...tus.uploads.values()];
  assert.ok(upload);
  assert.equal(mediaId, upload.mediaId);
  assert.deepEqual(tus.body(upload.id), Buffer.from(data));
  assert.deepEqual(upload.metadata, {
    kind: "visit_photo",
    entity_id: VISIT,
    filename: "货架.jpg",
    content_type: "image/jpeg",
  });
  assert.equal(tus.log.filter((l) => l.startsWith("PATCH")).length, 7, "16 KB chunks");
  assert.deepEqual(await c.pendingUploads(), [], "a finished upload is forgotten");
});

test("a file is uploaded by path through the FileSource", async () => {
  const path = join(scratch, "receipt.pdf");
  const data = randomBytes(40 * KB);
  await writeFile(path, data);
  const c = await client({ files: nodeFiles });
  const mediaId = await c.upload(path, "receipt", VISIT);
  const upload = [...tus.uploads.values()][0]!;
  assert.equal(mediaId, upload.mediaId);
  assert.deepEqual(tus.body(upload.id), data);
  assert.equal(upload.metadata.kind, "receipt");
});

test("after an app restart the upload resumes from the server's offset, sending no byte twice", async () => {
  const path = join(scratch, "phone.json");
  const data = new Uint8Array(randomBytes(100 * KB));
  const first = await client({
    storage: new JsonFileStorage(path),
    fetch: cutAfterPatches(2, "after"),
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  await assert.rejects(first.upload(data, "visit_photo", VISIT), NetworkError);
  const [state] = await first.pendingUploads();
  assert.ok(state);
  assert.equal(state.offset, 32 * KB, "the client knows of two chunks");
  const upload = [...tus.uploads.values()][0]!;
  assert.equal(upload.offset, 48 * KB, "the server got a third one whose answer was lost");

  const restarted = newClient(tus.baseUrl, { storage: new JsonFileStorage(path), uploadChunkSize: 16 * KB });
  tus.log.length = 0;
  const results = await restarted.resumeUploads();
  assert.deepEqual(results, [{ id: state.id, mediaId: upload.mediaId }]);
  assert.equal(tus.log[0], `HEAD /v1/uploads/${upload.id}`, "asks the server first");
  assert.equal(tus.received, data.length, "not one byte sent twice");
  assert.deepEqual(tus.body(upload.id), Buffer.from(data));
  assert.deepEqual(await restarted.pendingUploads(), []);
});

test("a chunk refused for its checksum (460) is sent again; a lost answer's 409 is settled with HEAD", async () => {
  const c = await client({ fetch: cutAfterPatchesOnce(1) });
  tus.corruptNext = 1;
  const data = new Uint8Array(randomBytes(50 * KB));
  const mediaId = await c.upload(data, "receipt", VISIT);
  const upload = [...tus.uploads.values()][0]!;
  assert.equal(mediaId, upload.mediaId);
  assert.deepEqual(tus.body(upload.id), Buffer.from(data));
  const patches = tus.log.filter((l) => l.startsWith("PATCH")).length;
  assert.equal(patches, 4 + 1 + 1, "4 chunks, one resent after 460, one retried into a 409");
  assert.ok(tus.log.includes(`HEAD /v1/uploads/${upload.id}`));
});

/** Loses the answer of PATCH number `n` once (the server applied it). */
function cutAfterPatchesOnce(n: number): Fetch {
  let seen = 0;
  return async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method === "PATCH" && res.status === 204 && ++seen === n) {
      await res.arrayBuffer();
      throw new TypeError("fetch failed (answer lost)");
    }
    return res;
  };
}

test("an upload the server no longer knows (404) starts over", async () => {
  const storage = new MemoryStorage();
  const first = await client({
    storage,
    fetch: cutAfterPatches(1, "before"),
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const data = new Uint8Array(randomBytes(40 * KB));
  await assert.rejects(first.upload(data, "visit_photo", VISIT));
  tus.uploads.clear(); // expired on the server
  const restarted = newClient(tus.baseUrl, { storage, uploadChunkSize: 16 * KB });
  const [result] = await restarted.resumeUploads();
  const upload = [...tus.uploads.values()][0]!;
  assert.equal(result?.mediaId, upload.mediaId);
  assert.deepEqual(tus.body(upload.id), Buffer.from(data));
});

test("cancelUpload terminates the upload on the server and forgets it", async () => {
  const storage = new MemoryStorage();
  const c = await client({
    storage,
    fetch: cutAfterPatches(1, "before"),
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  await assert.rejects(c.upload(new Uint8Array(randomBytes(40 * KB)), "visit_photo", VISIT));
  const [state] = await c.pendingUploads();
  const online = newClient(tus.baseUrl, { storage });
  await online.cancelUpload(state!.id);
  assert.equal(tus.uploads.size, 0);
  assert.ok(tus.log.includes(`DELETE ${new URL(state!.url!).pathname}`));
  assert.deepEqual(await online.pendingUploads(), []);
  assert.deepEqual(
    await storage.keys("fieldline/u/0f8fad5b-d9cb-469f-a165-70867728950e/upload"),
    [],
    "the kept bytes are gone too",
  );
});
