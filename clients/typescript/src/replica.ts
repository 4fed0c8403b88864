/**
 * The replica: the server's view of this user's scope, one storage key per entity, plus the
 * pure functions that lay pending outbox mutations over it (optimistic reads).
 */
import type { StorageAdapter } from "./storage.js";
import type { UserKeys } from "./keys.js";
import type { Change, JsonObject, Mutation, MutationResult } from "./wire.js";

/** What is stored per entity: version, replica generation, server data. */
export interface ReplicaRecord {
  v: number;
  g: number;
  d: JsonObject;
}

export class Replica {
  constructor(
    private readonly storage: StorageAdapter,
    readonly keys: UserKeys,
  ) {}

  async read(entity: string, id: string): Promise<ReplicaRecord | undefined> {
    const text = await this.storage.get(this.keys.replica(entity, id));
    return text === null ? undefined : (JSON.parse(text) as ReplicaRecord);
  }

  /** Every stored record of one entity, by id. */
  async readAll(entity: string): Promise<Map<string, ReplicaRecord>> {
    const prefix = this.keys.replicaPrefix(entity);
    const out = new Map<string, ReplicaRecord>();
    for (const key of await this.storage.keys(prefix)) {
      const text = await this.storage.get(key);
      if (text !== null) out.set(key.slice(prefix.length), JSON.parse(text) as ReplicaRecord);
    }
    return out;
  }

  /**
   * The writes that apply one pulled page: upserts replace older versions (a change delivered
   * twice is harmless), deletes and evictions remove the copy. Records the page confirms are
   * stamped with `generation`, so a bootstrap can drop what it did not return.
   */
  async planPage(changes: Change[], generation: number): Promise<{ sets: Record<string, string>; dels: string[] }> {
    const latest = new Map<string, Change>();
    for (const c of changes) {
      const key = this.keys.replica(c.entity, c.id);
      const seen = latest.get(key);
      if (!seen || c.version >= seen.version) latest.set(key, c);
    }
    const sets: Record<string, string> = {};
    const dels: string[] = [];
    for (const [key, c] of latest) {
      const text = await this.storage.get(key);
      const current = text === null ? undefined : (JSON.parse(text) as ReplicaRecord);
      if (c.op === "upsert") {
        if (!current || c.version >= current.v) {
          sets[key] = JSON.stringify({ v: c.version, g: generation, d: c.data ?? {} } satisfies ReplicaRecord);
        } else if (current.g !== generation) {
          sets[key] = JSON.stringify({ ...current, g: generation });
        }
      } else if (current && current.v <= c.version) {
        dels.push(key);
      }
    }
    return { sets, dels };
  }

  /** Keys of records older than `generation` (left over after a bootstrap). */
  async staleKeys(generation: number): Promise<string[]> {
    const stale: string[] = [];
    for (const key of await this.storage.keys(this.keys.replicaPrefix())) {
      const text = await this.storage.get(key);
      if (text !== null && (JSON.parse(text) as ReplicaRecord).g < generation) stale.push(key);
    }
    return stale;
  }
}

/**
 * Entities that belong to a visit. The server deletes them with their visit, so a device shows
 * them only while it shows their visit.
 */
export const VISIT_CHILDREN: ReadonlySet<string> = new Set(["visit_action", "photo"]);

/**
 * `base` with pending mutations applied in order; `undefined` when deleted or never created.
 * Pending values are copied: changing what a read returned never alters the queued mutation.
 */
export function overlay(id: string, base: JsonObject | undefined, pending: Mutation[]): JsonObject | undefined {
  let out = base;
  for (const m of pending) {
    if (m.op === "delete") out = undefined;
    else out = { ...(out ?? { id }), ...(m.fields ? (JSON.parse(JSON.stringify(m.fields)) as JsonObject) : {}) };
  }
  return out;
}

/**
 * The replica record after the server acknowledged `m` with `r`, before the next pull brings the
 * full server view: what took effect is folded in, so an acknowledged write does not vanish from
 * reads while the pull is pending. Returns `null` to delete, `undefined` for no change.
 */
export function foldResult(
  current: ReplicaRecord | undefined,
  m: Mutation,
  r: MutationResult,
  generation: number,
): ReplicaRecord | null | undefined {
  const status = r.status === "duplicate" ? r.original_status : r.status;
  if (status !== "applied" && status !== "merged") return undefined;
  if (current && r.version !== undefined && r.version < current.v) return undefined;
  if (m.op === "delete") return null;
  const data: JsonObject = { ...(current?.d ?? { id: m.id }), ...(m.fields ?? {}) };
  for (const c of r.conflicts ?? []) {
    if (c.outcome !== "overwrote" && c.field in data) data[c.field] = c.server_value;
  }
  if (r.version !== undefined) data.version = r.version;
  return { v: r.version ?? current?.v ?? 0, g: current?.g ?? generation, d: data };
}
