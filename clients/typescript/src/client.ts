/** `FieldlineClient`: the one entry point an app uses. */
import { Auth } from "./auth.js";
import { FieldlineError, NotLoggedIn } from "./errors.js";
import { HybridClock } from "./hlc.js";
import { Http, type FetchLike, type HttpResponse, type RequestOptions } from "./http.js";
import { isUuid, uuidv4, uuidv7 } from "./ids.js";
import { DeviceKeys, type UserKeys } from "./keys.js";
import { ENTITY_NAMES, type EntityMap, type EntityName, type TokenUser } from "./models.js";
import { Mutex } from "./mutex.js";
import { Outbox } from "./outbox.js";
import { overlay, Replica, VISIT_CHILDREN } from "./replica.js";
import { DEFAULT_RETRY, realSleep, withRetry, type RetryPolicy } from "./retry.js";
import type { StorageAdapter } from "./storage.js";
import { SyncEngine, type ConflictEvent, type SyncReport } from "./sync.js";
import {
  Uploader,
  type FileSource,
  type ResumeResult,
  type UploadKind,
  type UploadOptions,
  type UploadSource,
  type UploadState,
} from "./tus.js";
import type { JsonObject, Mutation } from "./wire.js";

export interface FieldlineClientOptions {
  /** The server, e.g. `https://fieldline.example.com`. */
  baseUrl: string;
  /** Where everything is kept (tokens, outbox, replica, uploads). */
  storage: StorageAdapter;
  /** This device's id; generated once and kept in storage when not given. */
  deviceId?: string;
  /** The platform's fetch (default `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Wall clock in milliseconds (default `Date.now`), read by the hybrid logical clock. */
  clock?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  deviceName?: string;
  platform?: string;
  /** Prefix of every storage key (default `fieldline/`). */
  keyPrefix?: string;
  /** Entity schema version sent with pushes (default 1). */
  schemaVersion?: number;
  /** Changes per pull page (default 500; the server caps it). */
  pullLimit?: number;
  /** Reads files for `upload(path)`. */
  files?: FileSource;
  /** Bytes per tus PATCH (default 1 MiB). */
  uploadChunkSize?: number;
  /** For tests: how to wait between retries, and the jitter source. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Fields of an entity as a mutation sends them (the server refuses fields the role may not write). */
export type EntityFields<E extends EntityName> = Partial<
  Omit<EntityMap[E], "id" | "version" | "created_at" | "updated_at">
>;

export interface StartOptions {
  onSync?: (report: SyncReport) => void;
  onError?: (error: unknown) => void;
}

const SYSTEM_FIELDS = new Set(["id", "version", "created_at", "updated_at"]);

interface Local {
  userId: string;
  keys: UserKeys;
  outbox: Outbox;
  replica: Replica;
}

interface Loop {
  stopped: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: Promise<void>;
}

export class FieldlineClient {
  private readonly http: Http;
  private readonly storage: StorageAdapter;
  private readonly device: DeviceKeys;
  private readonly auth: Auth;
  private readonly uploader: Uploader;
  private readonly writeLock = new Mutex();
  private readonly syncLock = new Mutex();
  private readonly listeners = new Set<(event: ConflictEvent) => void | Promise<void>>();
  private readonly retryPolicy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly wallMs: () => number;
  private clockValue: HybridClock | undefined;
  private deviceIdValue: string | undefined;
  private local: Local | undefined;
  private initialised: Promise<void> | undefined;
  private loop: Loop | undefined;

  constructor(private readonly opts: FieldlineClientOptions) {
    const fetchFn = opts.fetch ?? ((input: string, init?: RequestInit) => globalThis.fetch(input, init));
    this.storage = opts.storage;
    this.device = new DeviceKeys(opts.keyPrefix ?? "fieldline/");
    this.http = new Http(opts.baseUrl, fetchFn, opts.timeoutMs ?? 30_000);
    this.retryPolicy = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
    this.wallMs = opts.clock ?? (() => Date.now());
    if (opts.deviceId !== undefined && !isUuid(opts.deviceId)) throw new Error("deviceId must be a UUID");
    this.auth = new Auth(this.http, this.storage, this.device, () => this.deviceId, {
      ...(opts.deviceName === undefined ? {} : { deviceName: opts.deviceName }),
      ...(opts.platform === undefined ? {} : { platform: opts.platform }),
    });
    this.http.tokens = this.auth;
    this.auth.onUserChange(() => {
      this.local = undefined;
    });
    this.uploader = new Uploader({
      http: this.http,
      storage: this.storage,
      keys: () => this.requireLocalSync().keys,
      files: opts.files,
      chunkSize: opts.uploadChunkSize ?? 1024 * 1024,
      retry: (fn) => this.withRetry(fn),
      now: this.wallMs,
    });
  }

  /** Loads the device id, clock, session and outbox from storage. Every method awaits it. */
  ready(): Promise<void> {
    this.initialised ??= this.init();
    return this.initialised;
  }

  private async init(): Promise<void> {
    const stored = await this.storage.get(this.device.deviceId);
    const deviceId = this.opts.deviceId ?? stored ?? uuidv4();
    if (stored !== deviceId) await this.storage.set(this.device.deviceId, deviceId);
    this.deviceIdValue = deviceId;
    const clock = new HybridClock(deviceId, this.wallMs);
    const lastStamp = await this.storage.get(this.device.hlc);
    if (lastStamp !== null) clock.observe(lastStamp);
    this.clockValue = clock;
    await this.auth.load();
  }

  get deviceId(): string {
    if (this.deviceIdValue === undefined) throw new Error("await client.ready() first");
    return this.deviceIdValue;
  }

  /** The signed-in user (or the last one, after logout or an expired session). */
  get user(): TokenUser | undefined {
    return this.auth.user;
  }

  get loggedIn(): boolean {
    return this.auth.loggedIn;
  }

  private get clock(): HybridClock {
    if (this.clockValue === undefined) throw new Error("await client.ready() first");
    return this.clockValue;
  }

  // ------------------------------------------------------------------ auth

  async login(email: string, password: string): Promise<TokenUser> {
    await this.ready();
    return this.auth.login(email, password);
  }

  /** Revokes this device's tokens; local data (outbox, replica) is kept for the next login. */
  async logout(): Promise<void> {
    await this.ready();
    await this.auth.logout();
  }

  /** An authenticated call to any endpoint (REST resources, `/v1/me`, …), with token renewal. */
  async request<T = unknown>(opts: RequestOptions): Promise<HttpResponse<T>> {
    await this.ready();
    return this.http.request<T>(opts);
  }

  // ------------------------------------------------------------------ local state

  private requireLocalSync(): Local {
    const user = this.auth.user;
    if (!user) throw new NotLoggedIn();
    if (this.local?.userId !== user.id) throw new Error("local state not loaded");
    return this.local;
  }

  private async localState(): Promise<Local> {
    await this.ready();
    const user = this.auth.user;
    if (!user) throw new NotLoggedIn();
    if (this.local?.userId === user.id) return this.local;
    return this.writeLock.run(async () => {
      if (this.local?.userId === user.id) return this.local;
      const keys = this.device.forUser(user.id);
      const outbox = new Outbox(this.storage, keys);
      await outbox.load();
      this.local = { userId: user.id, keys, outbox, replica: new Replica(this.storage, keys) };
      return this.local;
    });
  }

  // ------------------------------------------------------------------ writes (outbox)

  /** Records the creation of an entity; returns its id (a UUIDv7 unless `opts.id` is given). */
  async create<E extends EntityName>(entity: E, fields: EntityFields<E>, opts: { id?: string } = {}): Promise<string> {
    const id = opts.id ?? uuidv7(this.wallMs());
    if (!isUuid(id)) throw new FieldlineError(0, "validation_failed", "id must be a UUID");
    await this.record(entity, id, "upsert", checkFields(fields as JsonObject), false);
    return id;
  }

  /** Records a change to some fields of an entity. */
  async update<E extends EntityName>(entity: E, id: string, fields: EntityFields<E>): Promise<void> {
    await this.record(entity, id, "upsert", checkFields(fields as JsonObject), true);
  }

  /** Records the deletion of an entity. */
  async delete(entity: EntityName, id: string): Promise<void> {
    await this.record(entity, id, "delete", undefined, true);
  }

  private async record(
    entity: EntityName,
    id: string,
    op: "upsert" | "delete",
    fields: JsonObject | undefined,
    withBase: boolean,
  ): Promise<Mutation> {
    if (!(ENTITY_NAMES as readonly string[]).includes(entity)) {
      throw new FieldlineError(0, "unknown_entity", `unknown entity ${String(entity)}`);
    }
    const local = await this.localState();
    return this.writeLock.run(async () => {
      const base = withBase ? await local.replica.read(entity, id) : undefined;
      const hlc = this.clock.now();
      return local.outbox.append(
        (seq) => ({
          seq,
          entity,
          id,
          op,
          hlc,
          ...(base ? { base_version: base.v } : {}),
          ...(fields ? { fields } : {}),
        }),
        { [this.device.hlc]: this.clock.last() },
      );
    });
  }

  /** Mutations not yet acknowledged by the server, oldest first. */
  async pending(): Promise<Mutation[]> {
    return JSON.parse(JSON.stringify((await this.localState()).outbox.pending())) as Mutation[];
  }

  // ------------------------------------------------------------------ reads (replica + outbox)

  /** The entity as the server last sent it, with this device's pending writes laid over it. */
  async get<E extends EntityName>(entity: E, id: string): Promise<EntityMap[E] | undefined> {
    const local = await this.localState();
    const rec = await local.replica.read(entity, id);
    const item = overlay(id, rec?.d, local.outbox.pendingFor(entity, id));
    // A visit's action or photo is shown while its visit is: deleting a visit hides them at once,
    // as the server deletes them with it.
    if (item !== undefined && VISIT_CHILDREN.has(entity)) {
      if ((await this.get("visit", String(item.visit_id))) === undefined) return undefined;
    }
    return item as EntityMap[E] | undefined;
  }

  /** Every entity of a kind (server state with pending writes laid over), optionally filtered. */
  async list<E extends EntityName>(entity: E, filter?: (item: EntityMap[E]) => boolean): Promise<EntityMap[E][]> {
    const local = await this.localState();
    const records = await local.replica.readAll(entity);
    const pending = new Map<string, Mutation[]>();
    for (const m of local.outbox.pending()) {
      if (m.entity !== entity) continue;
      const list = pending.get(m.id) ?? [];
      list.push(m);
      pending.set(m.id, list);
    }
    const visits = VISIT_CHILDREN.has(entity) ? new Set((await this.list("visit")).map((v) => v.id)) : undefined;
    const out: EntityMap[E][] = [];
    for (const id of new Set([...records.keys(), ...pending.keys()])) {
      const item = overlay(id, records.get(id)?.d, pending.get(id) ?? []);
      if (item === undefined || (visits && !visits.has(String(item.visit_id)))) continue;
      const typed = item as unknown as EntityMap[E];
      if (!filter || filter(typed)) out.push(typed);
    }
    return out;
  }

  // ------------------------------------------------------------------ sync

  /** Called with every mutation the server merged or rejected. Returns an unsubscribe function. */
  onConflict(callback: (event: ConflictEvent) => void | Promise<void>): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  private emit(event: ConflictEvent): void {
    for (const l of this.listeners) {
      try {
        void Promise.resolve(l(event)).catch(() => undefined);
      } catch {
        // a listener's failure must not stop the sync
      }
    }
  }

  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.retryPolicy, { sleep: this.sleep, random: this.random });
  }

  /** Pushes the outbox, then pulls until the replica is up to date. One run at a time. */
  async sync(): Promise<SyncReport> {
    const local = await this.localState();
    return this.syncLock.run(() =>
      new SyncEngine({
        http: this.http,
        storage: this.storage,
        device: this.device,
        keys: local.keys,
        outbox: local.outbox,
        replica: local.replica,
        clock: this.clock,
        writeLock: this.writeLock,
        retry: (fn) => this.withRetry(fn),
        clientId: this.deviceId,
        schemaVersion: this.opts.schemaVersion ?? 1,
        pullLimit: this.opts.pullLimit ?? 500,
        emit: (e) => this.emit(e),
      }).run(),
    );
  }

  /** Syncs now and then every `intervalMs` while signed in, until `stop()`. */
  start(intervalMs = 30_000, opts: StartOptions = {}): void {
    if (this.loop) return;
    const loop: Loop = { stopped: false, timer: undefined, running: Promise.resolve() };
    const tick = async (): Promise<void> => {
      if (loop.stopped) return;
      await this.ready();
      if (this.loggedIn) {
        try {
          opts.onSync?.(await this.sync());
        } catch (err) {
          opts.onError?.(err);
        }
      }
      if (!loop.stopped) loop.timer = setTimeout(() => (loop.running = tick()), intervalMs);
    };
    this.loop = loop;
    loop.running = tick();
  }

  /** Stops the background loop; resolves once a sync under way has finished. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    loop.stopped = true;
    clearTimeout(loop.timer);
    this.loop = undefined;
    await loop.running;
  }

  // ------------------------------------------------------------------ uploads

  /** Uploads a photo or receipt over tus; resolves to the media id the server reports. */
  async upload(
    source: UploadSource,
    kind: UploadKind,
    entityId: string,
    opts: UploadOptions = {},
  ): Promise<string | null> {
    await this.localState();
    return this.uploader.upload(source, kind, entityId, opts);
  }

  /** Continues every upload left unfinished (for example by an app restart). */
  async resumeUploads(): Promise<ResumeResult[]> {
    await this.localState();
    return this.uploader.resume();
  }

  async pendingUploads(): Promise<UploadState[]> {
    await this.localState();
    return this.uploader.pending();
  }

  /** Terminates an unfinished upload on the server and forgets it. */
  async cancelUpload(id: string): Promise<void> {
    await this.localState();
    await this.uploader.cancel(id);
  }
}

function checkFields(fields: JsonObject): JsonObject {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new FieldlineError(0, "validation_failed", "fields must be an object");
  }
  for (const k of Object.keys(fields)) {
    if (SYSTEM_FIELDS.has(k)) throw new FieldlineError(0, "validation_failed", `${k} is set by the server`);
  }
  // a plain JSON copy: later changes to the caller's object must not alter the outbox
  return JSON.parse(JSON.stringify(fields)) as JsonObject;
}
