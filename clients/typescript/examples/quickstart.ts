/**
 * The quick start of docs/sdk-typescript.md as one program (Node 20):
 *
 *   node dist/examples/quickstart.js http://127.0.0.1:8000 rep1@demo.test fieldline-demo
 */
import { FieldlineClient, FieldlineError } from "../src/index.js"; // in an app: "@fieldline/client"
import { JsonFileStorage } from "../src/node.js"; // in an app: "@fieldline/client/node"

async function main(baseUrl: string, email: string, password: string): Promise<void> {
  const client = new FieldlineClient({ baseUrl, storage: new JsonFileStorage("fieldline-state.json") });
  await client.ready();
  if (!client.loggedIn) await client.login(email, password);

  client.onConflict((event) => {
    console.log(`${event.entity} ${event.id}: ${event.status}`, event.error ?? event.conflicts);
  });

  await client.sync();
  const customers = await client.list("customer");
  const shop = customers[0];
  if (!shop) throw new Error("no customer in this rep's scope");

  const visitId = await client.create("visit", { customer_id: shop.id, planned_at: new Date().toISOString() });
  if (shop.lat !== null && shop.lon !== null) {
    await client.update("visit", visitId, {
      status: "in_progress",
      check_in: { at: new Date().toISOString(), lat: shop.lat, lon: shop.lon, accuracy_m: 10 },
    });
  }
  const report = await client.sync();
  console.log(`pushed ${report.pushed}, pulled ${report.pulled}`);
  console.log("check-in verdict:", (await client.get("visit", visitId))?.check_in_verdict);
}

const [baseUrl = "http://127.0.0.1:8000", email = "rep1@demo.test", password = "fieldline-demo"] =
  process.argv.slice(2);
main(baseUrl, email, password).catch((err: unknown) => {
  console.error(err instanceof FieldlineError ? `${err.status} ${err.code}: ${err.detail}` : err);
  process.exit(1);
});
