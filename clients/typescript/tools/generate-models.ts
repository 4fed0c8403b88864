/**
 * Writes `src/models.ts` from the server's OpenAPI document, so the SDK's types cannot drift
 * from the server.
 *
 *   npm run generate-models -- http://127.0.0.1:8000        # a running server
 *   npm run generate-models -- ./openapi.json               # a saved document
 *
 * Every component schema becomes a TypeScript interface or type; the synced entities (schemas
 * with a `<Name>Page` list type and a `version`) get `EntityName`, `EntityMap` and `ENTITY_NAMES`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  items?: Schema;
  prefixItems?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  description?: string;
  format?: string;
};

export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string; version?: string };
  components?: { schemas?: Record<string, Schema> };
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  return unique.length === 0 ? "never" : unique.join(" | ");
}

function wrap(t: string): string {
  return /[|&]/.test(t) ? `(${t})` : t;
}

function tsType(s: Schema, indent: string): string {
  if (s.$ref) return refName(s.$ref);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return union(s.enum.map((v) => JSON.stringify(v)));
  if (s.oneOf) return union(s.oneOf.map((m) => tsType(m, indent)));
  if (s.anyOf) return union(s.anyOf.map((m) => tsType(m, indent)));
  if (s.allOf) return s.allOf.map((m) => wrap(tsType(m, indent))).join(" & ");
  if (Array.isArray(s.type)) return union(s.type.map((t) => tsType({ ...s, type: t }, indent)));
  switch (s.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      if (s.prefixItems) return `[${s.prefixItems.map((m) => tsType(m, indent)).join(", ")}]`;
      return `${wrap(s.items ? tsType(s.items, indent) : "unknown")}[]`;
    case "object":
      return objectType(s, indent);
    default:
      return s.properties ? objectType(s, indent) : "unknown";
  }
}

function objectType(s: Schema, indent: string): string {
  if (s.properties && Object.keys(s.properties).length > 0) return `{\n${members(s, indent + "  ")}${indent}}`;
  const extra = s.additionalProperties;
  if (extra && typeof extra === "object" && Object.keys(extra).length > 0) {
    return `Record<string, ${tsType(extra, indent)}>`;
  }
  return "Record<string, unknown>";
}

function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text.replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim()} */\n` : "";
}

function members(s: Schema, indent: string): string {
  const required = new Set(s.required ?? []);
  let out = "";
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const key = IDENT.test(name) ? name : JSON.stringify(name);
    out += doc(prop.description, indent);
    out += `${indent}${key}${required.has(name) ? "" : "?"}: ${tsType(prop, indent)};\n`;
  }
  return out;
}

function snake(name: string): string {
  return name.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();
}

/** The synced entities: `<Name>` with a `<Name>Page` list type and `id` + `version` fields. */
export function entityNames(docu: OpenApiDocument): Map<string, string> {
  const schemas = docu.components?.schemas ?? {};
  const out = new Map<string, string>();
  for (const name of Object.keys(schemas).sort()) {
    const props = schemas[name]?.properties ?? {};
    if (schemas[`${name}Page`] && "id" in props && "version" in props) out.set(snake(name), name);
  }
  return out;
}

/** The text of `src/models.ts` for an OpenAPI document. Deterministic: same input, same text. */
export function generateModels(docu: OpenApiDocument): string {
  const schemas = docu.components?.schemas ?? {};
  let out =
    "/**\n" +
    " * Typed models of the Fieldline API, generated from the server's OpenAPI document\n" +
    ` * (${docu.info?.title ?? "API"} ${docu.info?.version ?? ""}, OpenAPI ${docu.openapi}).\n` +
    " * Do not edit: run `npm run generate-models -- <server url>` (tools/generate-models.ts).\n" +
    " */\n\n";
  for (const name of Object.keys(schemas).sort()) {
    const s = schemas[name]!;
    out += doc(s.description, "");
    const isObject = (s.type === "object" || (!s.type && s.properties)) && s.properties;
    if (isObject) out += `export interface ${name} {\n${members(s, "  ")}}\n\n`;
    else out += `export type ${name} = ${tsType(s, "")};\n\n`;
  }
  const entities = entityNames(docu);
  out += "/** The synced entities, by their sync name. */\n";
  out += `export const ENTITY_NAMES = [${[...entities.keys()].map((e) => JSON.stringify(e)).join(", ")}] as const;\n\n`;
  out += "export type EntityName = (typeof ENTITY_NAMES)[number];\n\n";
  out += "export interface EntityMap {\n";
  for (const [e, t] of entities) out += `  ${e}: ${t};\n`;
  out += "}\n";
  return out;
}

export async function fetchOpenApi(baseUrl: string): Promise<OpenApiDocument> {
  const res = await fetch(new URL("/schema/openapi.json", baseUrl));
  if (!res.ok) throw new Error(`GET /schema/openapi.json answered ${res.status}`);
  return (await res.json()) as OpenApiDocument;
}

export const MODELS_PATH = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/models.ts");

async function main(argv: string[]): Promise<void> {
  const source = argv[0] ?? "http://127.0.0.1:8000";
  const target = argv[1] ?? MODELS_PATH;
  const docu = /^https?:\/\//.test(source)
    ? await fetchOpenApi(source)
    : (JSON.parse(await readFile(source, "utf8")) as OpenApiDocument);
  await writeFile(target, generateModels(docu));
  console.log(`wrote ${target} (${Object.keys(docu.components?.schemas ?? {}).length} schemas)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
