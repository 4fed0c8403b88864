/**
 * One sync run: push the outbox (in seq order, in chunks within the server's limits), then pull
 * until `has_more` is false. Network calls run outside the write lock; each local write (fold,
 * trim, page apply) is one short locked section, so the app can keep writing during a sync.
 */
import { FieldlineError, LocalStateError } from "./errors.js";
import type { HybridClock } from "./hlc.js";
import type { Http } from "./http.js";
import type { DeviceKeys, UserKeys } from "./keys.js";
import type { SyncInfo } from "./models.js";
import type { Mutex } from "./mutex.js";
import type { Outbox } from "./outbox.js";
import { foldResult, type Replica, type ReplicaRecord } from "./replica.js";
import type { StorageAdapter } from "./storage.js";
import { utf8Length } from "./encoding.js";
import type {
  FieldConflict,
  JsonObject,
  Mutation,
  MutationResult,
  PullResponseBody,
  PushResponseBody,
  ResultError,
} from "./wire.js";
import type { EntityName } from "./models.js";

/** A mutation that did not take effect exactly as sent: handed to `onConflict` listeners. */
export interface ConflictEvent {
  entity: EntityName;
  id: string;
  seq: number;
  op: "upsert" | "delete";
  /** `merged`: took effect in part (see `conflicts`); `rejected`: no effect (see `error`). */
  status: "merged" | "rejected";
  /** The fields this device sent. */
  fields: JsonObject | undefined;
  conflicts: FieldConflict[];
  error: ResultError | undefined;
  notes: string[];
  /** True when the result came back for a retried push (the first answer was lost). */
  duplicate: boolean;
}

export interface EntityRef {
  entity: EntityName;
  id: string;
}

export interface SyncReport {
  /** Outbox mutations the server acknowledged (applied, merged or rejected). */
  pushed: number;
  /** Changes received from the server. */
  pulled: number;
  conflicts: ConflictEvent[];
  rejected: ConflictEvent[];
  /** Entities that left this user's scope (removed locally, not deleted on the server). */
  evicted: EntityRef[];
  /** The cursor was refused (`cursor_expired`, `invalid_cursor`) and the replica was rebuilt. */
  rebootstrapped: boolean;
}

export interface SyncContext {
  http: Http;
  storage: StorageAdapter;
  device: DeviceKeys;
  keys: UserKeys;
  outbox: Outbox;
  replica: Replica;
  clock: HybridClock;
  writeLock: Mutex;
  retry: <T>(fn: () => Promise<T>) => Promise<T>;
  clientId: string;
  schemaVersion: number;
  pullLimit: number;
  emit: (event: ConflictEvent) => void;
}

/** Room left in a push body for the envelope, and a safety margin under the server's limit. */
const ENVELOPE_BYTES = 256;
const BYTE_MARGIN = 0.9;

export function emptyReport(): SyncReport {
  return { pushed: 0, pulled: 0, conflicts: [], rejected: [], evicted: [], rebootstrapped: false };
}

/** The longest prefix of `pending` within `maxCount` mutations and `maxBytes` of JSON. */
export function takeChunk(pending: Mutation[], maxCount: number, maxBytes: number): Mutation[] {
  const budget = Math.floor(maxBytes * BYTE_MARGIN) - ENVELOPE_BYTES;
  const chunk: Mutation[] = [];
  let bytes = 0;
  for (const m of pending) {
    const size = utf8Length(JSON.stringify(m)) + 1;
    if (chunk.length >= maxCount || (chunk.length > 0 && bytes + size > budget)) break;
    chunk.push(m);
    bytes += size;
  }
  return chunk;
}

export class SyncEngine {
  constructor(private readonly ctx: SyncContext) {}

  async run(): Promise<SyncReport> {
    const report = emptyReport();
    const info = await this.info();
    await this.push(report, info);
    await this.pull(report, info);
    return report;
  }

  private async info(): Promise<SyncInfo> {
    const res = await this.ctx.retry(() => this.ctx.http.request<SyncInfo>({ path: "/v1/sync/info" }));
    this.ctx.clock.observe(res.data.server_hlc);
    return res.data;
  }

  private async push(report: SyncReport, info: SyncInfo): Promise<void> {
    const { ctx } = this;
    let maxCount = Math.max(1, info.limits.max_mutations);
    for (;;) {
      const pending = ctx.outbox.pending();
      if (pending.length === 0) return;
      const chunk = takeChunk(pending, maxCount, info.limits.max_push_bytes);
      let body: PushResponseBody;
      try {
        const res = await ctx.retry(() =>
          ctx.http.request<PushResponseBody>({
            method: "POST",
            path: "/v1/sync/push",
            json: { schema_version: ctx.schemaVersion, client_id: ctx.clientId, mutations: chunk },
          }),
        );
        body = res.data;
      } catch (err) {
        // Too large (413), or a server error that outlived the retries: send smaller chunks, so
        // one mutation the server cannot process does not hold back the ones before it.
        const splittable = err instanceof FieldlineError && (err.status === 413 || err.status >= 500);
        if (splittable && chunk.length > 1) {
          maxCount = Math.max(1, Math.floor(chunk.length / 2));
          continue;
        }
        throw err;
      }
      ctx.clock.observe(body.server_hlc);
      // Listeners hear of a result before it leaves the outbox: if the app dies in between, the
      // retried push brings the result back (as a duplicate) and they hear of it again.
      for (const e of conflictEvents(chunk, body)) {
        (e.status === "merged" ? report.conflicts : report.rejected).push(e);
        ctx.emit(e);
      }
      await ctx.writeLock.run(() => this.acknowledge(chunk, body));
      const acknowledged = chunk.filter((m) => m.seq <= body.last_seq).length;
      report.pushed += acknowledged;
      if (acknowledged === 0) {
        const first = chunk[0]!.seq;
        throw new LocalStateError(
          "outbox_gap",
          `the server expects seq ${body.last_seq + 1} but the outbox starts at ${first}`,
        );
      }
    }
  }

  /** Folds what took effect into the replica, then trims the outbox through `last_seq`. */
  private async acknowledge(chunk: Mutation[], body: PushResponseBody): Promise<void> {
    const { ctx } = this;
    const bySeq = new Map(chunk.map((m) => [m.seq, m]));
    const generation = Number((await ctx.storage.get(ctx.keys.generation)) ?? "0");
    const records = new Map<string, ReplicaRecord | null>();
    for (const r of body.results) {
      const m = bySeq.get(r.seq);
      if (!m || r.seq > body.last_seq) continue;
      const key = ctx.keys.replica(m.entity, m.id);
      const current = records.has(key) ? (records.get(key) ?? undefined) : await ctx.replica.read(m.entity, m.id);
      const next = foldResult(current, m, r, generation);
      if (next !== undefined) records.set(key, next);
    }
    const sets: Record<string, string> = { [ctx.device.hlc]: ctx.clock.last() };
    const dels: string[] = [];
    for (const [key, rec] of records) {
      if (rec === null) dels.push(key);
      else sets[key] = JSON.stringify(rec);
    }
    await ctx.storage.setMany(sets);
    if (dels.length > 0) await ctx.storage.deleteMany(dels);
    await ctx.outbox.trimThrough(body.last_seq);
  }

  private async pull(report: SyncReport, info: SyncInfo): Promise<void> {
    const { ctx } = this;
    const limit = Math.min(ctx.pullLimit, info.limits.max_pull_limit);
    let cursor = await ctx.storage.get(ctx.keys.cursor);
    let generation = Number((await ctx.storage.get(ctx.keys.generation)) ?? "0");
    let bootstrapping = (await ctx.storage.get(ctx.keys.bootstrap)) !== null;
    if (cursor === null && !bootstrapping) {
      generation = await this.startBootstrap(generation);
      bootstrapping = true;
    }
    for (;;) {
      let page: PullResponseBody;
      try {
        const query = { limit, cursor: cursor ?? undefined };
        const res = await ctx.retry(() => ctx.http.request<PullResponseBody>({ path: "/v1/sync/pull", query }));
        page = res.data;
      } catch (err) {
        const refused =
          err instanceof FieldlineError && (err.code === "cursor_expired" || err.code === "invalid_cursor");
        if (refused && cursor !== null && !report.rebootstrapped) {
          report.rebootstrapped = true;
          generation = await this.startBootstrap(generation);
          bootstrapping = true;
          cursor = null;
          continue;
        }
        throw err;
      }
      ctx.clock.observe(page.server_hlc);
      await ctx.writeLock.run(async () => {
        const { sets, dels } = await ctx.replica.planPage(page.changes, generation);
        if (dels.length > 0) await ctx.storage.deleteMany(dels);
        await ctx.storage.setMany({ ...sets, [ctx.keys.cursor]: page.cursor, [ctx.device.hlc]: ctx.clock.last() });
        await ctx.outbox.advanceTo(page.last_seq);
      });
      report.pulled += page.changes.length;
      for (const c of page.changes) if (c.op === "evict") report.evicted.push({ entity: c.entity, id: c.id });
      cursor = page.cursor;
      if (!page.has_more) break;
    }
    if (bootstrapping) {
      await ctx.writeLock.run(async () => {
        const stale = await ctx.replica.staleKeys(generation);
        if (stale.length > 0) await ctx.storage.deleteMany(stale);
        await ctx.storage.delete(ctx.keys.bootstrap);
      });
    }
  }

  /** Forgets the cursor and opens a new replica generation; the outbox is kept. */
  private async startBootstrap(generation: number): Promise<number> {
    const { ctx } = this;
    const next = generation + 1;
    await ctx.writeLock.run(async () => {
      await ctx.storage.setMany({ [ctx.keys.generation]: String(next), [ctx.keys.bootstrap]: String(next) });
      await ctx.storage.delete(ctx.keys.cursor);
    });
    return next;
  }
}

function conflictEvents(chunk: Mutation[], body: PushResponseBody): ConflictEvent[] {
  const bySeq = new Map(chunk.map((m) => [m.seq, m]));
  const out: ConflictEvent[] = [];
  for (const r of body.results) {
    const m = bySeq.get(r.seq);
    const event = m && r.seq <= body.last_seq ? conflictEvent(m, r) : undefined;
    if (event) out.push(event);
  }
  return out;
}

function conflictEvent(m: Mutation, r: MutationResult): ConflictEvent | undefined {
  const status = r.status === "duplicate" ? r.original_status : r.status;
  if (status !== "merged" && status !== "rejected") return undefined;
  return {
    entity: m.entity,
    id: m.id,
    seq: m.seq,
    op: m.op,
    status,
    fields: m.fields === undefined ? undefined : (JSON.parse(JSON.stringify(m.fields)) as JsonObject),
    conflicts: r.conflicts ?? [],
    error: r.error,
    notes: r.notes ?? [],
    duplicate: r.status === "duplicate",
  };
}
