/** The typed models cannot drift from the server: regenerated from a live server and compared. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { ENTITY_NAMES, type EntityName } from "../src/index.js";
import {
  entityNames,
  fetchOpenApi,
  generateModels,
  MODELS_PATH,
  type OpenApiDocument,
} from "../tools/generate-models.js";
import { startServer, type TestServer } from "./_server.js";
import { signedIn } from "./_util.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

test("src/models.ts is what the generator writes from the running server's OpenAPI document", async () => {
  const generated = generateModels(await fetchOpenApi(server.baseUrl));
  const committed = await readFile(MODELS_PATH, "utf8");
  assert.equal(committed, generated, "the server's schemas changed: run `npm run generate-models -- <server url>`");
});

test("every entity the server syncs has a model, with exactly the fields the pull sends", async () => {
  const docu = await fetchOpenApi(server.baseUrl);
  assert.deepEqual([...entityNames(docu).keys()], [...ENTITY_NAMES]);
  const admin = await signedIn(server.baseUrl, "admin@demo.test");
  await admin.sync();
  const shop = (await admin.list("customer"))[0]!;
  const rep = (await admin.list("user", (u) => u.role === "rep"))[0]!;
  const visitId = await admin.create("visit", { customer_id: shop.id, rep_id: rep.id });
  await admin.sync();
  await admin.create("visit_action", { visit_id: visitId, kind: "training", payload: { topic: "new range" } });
  await admin.create("expense", { visit_id: visitId, merchant: "Cafe", total: "8.00", currency: "CNY" });
  await admin.create("photo", { visit_id: visitId, caption: "shelf" });
  const report = await admin.sync();
  assert.deepEqual(report.rejected, []);

  const fresh = await signedIn(server.baseUrl, "admin@demo.test");
  const seen = new Set<string>();
  for (let cursor: string | undefined, more = true; more;) {
    const page = await fresh.request<{
      cursor: string;
      has_more: boolean;
      changes: { entity: string; op: string; data?: Record<string, unknown> }[];
    }>({
      path: "/v1/sync/pull",
      query: { cursor, limit: 1000 },
    });
    for (const change of page.data.changes) {
      assert.ok((ENTITY_NAMES as readonly string[]).includes(change.entity), `${change.entity} has a model`);
      if (change.op !== "upsert" || seen.has(change.entity)) continue;
      seen.add(change.entity);
      const schema = docu.components!.schemas![entityNames(docu).get(change.entity)!]!;
      assert.deepEqual(
        Object.keys(change.data!).sort(),
        Object.keys(schema.properties!).sort(),
        `${change.entity} fields`,
      );
    }
    cursor = page.data.cursor;
    more = page.data.has_more;
  }
  assert.deepEqual([...seen].sort(), [...ENTITY_NAMES].sort() as EntityName[], "every entity kind was checked");
});

test("the generator maps OpenAPI 3.1 constructs to TypeScript", () => {
  const docu: OpenApiDocument = {
    openapi: "3.1.0",
    info: { title: "T", version: "1" },
    components: {
      schemas: {
        Thing: {
          type: "object",
          required: ["id", "version", "kind"],
          properties: {
            id: { type: "string", format: "uuid" },
            version: { type: "integer" },
            kind: { type: ["null", "string"], enum: ["a", "b", null] },
            "odd-name": { type: "boolean", description: "a */ tricky comment" },
            tags: { type: "array", items: { oneOf: [{ type: "string" }, { type: "null" }] } },
            point: { type: "array", prefixItems: [{ type: "number" }, { type: "number" }] },
            meta: { type: "object", additionalProperties: { type: "integer" } },
            blob: { type: "object", additionalProperties: {} },
            parent: { oneOf: [{ $ref: "#/components/schemas/Thing" }, { type: "null" }] },
          },
        },
        ThingPage: {
          type: "object",
          required: ["items"],
          properties: { items: { type: "array", items: { $ref: "#/components/schemas/Thing" } } },
        },
        Colour: { type: "string", enum: ["red", "green"] },
      },
    },
  };
  const out = generateModels(docu);
  assert.match(out, /export type Colour = "red" \| "green";/);
  assert.match(out, /export interface Thing \{\n  id: string;\n  version: number;\n  kind: "a" \| "b" \| null;\n/);
  assert.match(out, /  \/\*\* a \*\\\/ tricky comment \*\/\n  "odd-name"\?: boolean;/);
  assert.match(out, /  tags\?: \(string \| null\)\[\];/);
  assert.match(out, /  point\?: \[number, number\];/);
  assert.match(out, /  meta\?: Record<string, number>;/);
  assert.match(out, /  blob\?: Record<string, unknown>;/);
  assert.match(out, /  parent\?: Thing \| null;/);
  assert.match(out, /export const ENTITY_NAMES = \["thing"\] as const;/);
  assert.match(out, /export interface EntityMap \{\n  thing: Thing;\n\}/);
  assert.equal(generateModels(docu), out, "deterministic");
});
