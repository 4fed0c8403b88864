/** Shared test tools: clients, a plain REST caller, and fetch wrappers that cut the network. */
import { randomUUID } from "node:crypto";
import { FieldlineClient, MemoryStorage, type FieldlineClientOptions, type StorageAdapter } from "../src/index.js";
import { DEMO_PASSWORD } from "./_server.js";

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Retries fast: the tests exercise backoff logic, not wall-clock waiting. */
export const FAST_RETRY = { maxAttempts: 8, baseDelayMs: 2, maxDelayMs: 20 };

export function newClient(
  baseUrl: string,
  extra: Partial<FieldlineClientOptions> & { storage?: StorageAdapter } = {},
): FieldlineClient {
  return new FieldlineClient({ baseUrl, storage: extra.storage ?? new MemoryStorage(), retry: FAST_RETRY, ...extra });
}

export async function signedIn(
  baseUrl: string,
  email: string,
  extra: Partial<FieldlineClientOptions> & { storage?: StorageAdapter } = {},
): Promise<FieldlineClient> {
  const client = newClient(baseUrl, extra);
  await client.login(email, DEMO_PASSWORD);
  return client;
}

/** A plain REST session (a manager's web app, say), without the SDK. */
export class Rest {
  private constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly user: { id: string; role: string },
  ) {}

  static async login(baseUrl: string, email: string): Promise<Rest> {
    const res = await fetch(`${baseUrl}/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: DEMO_PASSWORD, device_id: randomUUID() }),
    });
    if (!res.ok) throw new Error(`login ${email}: ${res.status}`);
    const body = (await res.json()) as { access_token: string; user: { id: string; role: string } };
    return new Rest(baseUrl, body.access_token, body.user);
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** A deterministic PRNG (mulberry32), so a failing fault run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultStats {
  before: Record<string, number>;
  after: Record<string, number>;
  passed: Record<string, number>;
}

function endpoint(url: string): string {
  return new URL(url).pathname;
}

function bump(counter: Record<string, number>, key: string): void {
  counter[key] = (counter[key] ?? 0) + 1;
}

/**
 * Cuts the network at random: a request is dropped either before the server sees it, or after
 * the server handled it (the answer is lost on the way back). Both look like a network error.
 */
export function faultyFetch(opts: { rate: number; seed: number; paths?: RegExp }): {
  fetch: Fetch;
  stats: FaultStats;
  enabled: { on: boolean };
} {
  const random = prng(opts.seed);
  const stats: FaultStats = { before: {}, after: {}, passed: {} };
  const enabled = { on: true };
  const wrapped: Fetch = async (input, init) => {
    const path = endpoint(input);
    const eligible = enabled.on && (!opts.paths || opts.paths.test(path));
    const roll = random();
    if (eligible && roll < opts.rate / 2) {
      bump(stats.before, path);
      throw new TypeError("fetch failed (request dropped)");
    }
    const res = await fetch(input, init);
    if (eligible && roll < opts.rate) {
      await res.arrayBuffer();
      bump(stats.after, path);
      throw new TypeError("fetch failed (answer lost)");
    }
    bump(stats.passed, path);
    return res;
  };
  return { fetch: wrapped, stats, enabled };
}

/** A fetch that can be switched offline (every request fails before reaching the server). */
export function switchableFetch(): { fetch: Fetch; online: { on: boolean }; calls: string[] } {
  const online = { on: true };
  const calls: string[] = [];
  const wrapped: Fetch = async (input, init) => {
    calls.push(`${init?.method ?? "GET"} ${endpoint(input)}`);
    if (!online.on) throw new TypeError("fetch failed (offline)");
    return fetch(input, init);
  };
  return { fetch: wrapped, online, calls };
}

export function fixAt(
  lat: number,
  lon: number,
  at: Date = new Date(),
): { at: string; lat: number; lon: number; accuracy_m: number } {
  return { at: at.toISOString(), lat, lon, accuracy_m: 8 };
}
