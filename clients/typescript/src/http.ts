/**
 * One HTTP exchange with the server over the platform's `fetch`: bearer token, one renewal on
 * 401, timeouts, and problem+json answers turned into typed errors. No retries here (see retry.ts).
 */
import { AuthExpired, FieldlineError, NetworkError, NotLoggedIn, type Problem } from "./errors.js";
import { resolveUrl, withQuery } from "./urls.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Supplies bearer tokens and renews them (see auth.ts). */
export interface TokenSource {
  accessToken(): string | undefined;
  /** Renews the session after `used` was refused; throws `AuthExpired` when it cannot. */
  renew(used: string): Promise<void>;
}

export interface RequestOptions {
  method?: string;
  /** A path under the base URL, or an absolute URL (tus upload locations). */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: Uint8Array;
  headers?: Record<string, string>;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Statuses to hand back instead of throwing (tus answers 404/409/460 the caller handles). */
  accept?: number[];
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  data: T;
}

export class Http {
  tokens: TokenSource | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly fetchFn: FetchLike,
    private readonly timeoutMs: number,
  ) {}

  url(path: string, query?: RequestOptions["query"]): string {
    return withQuery(resolveUrl(this.baseUrl, path), query);
  }

  async request<T = unknown>(opts: RequestOptions): Promise<HttpResponse<T>> {
    let res: Response;
    if (opts.auth === false) {
      res = await this.send(opts, undefined);
    } else {
      const token = this.tokens?.accessToken();
      if (token === undefined || this.tokens === undefined) throw new NotLoggedIn();
      res = await this.send(opts, token);
      if (res.status === 401) {
        await drain(res);
        await this.tokens.renew(token);
        const fresh = this.tokens.accessToken();
        if (fresh === undefined) throw new NotLoggedIn();
        res = await this.send(opts, fresh);
        if (res.status === 401) {
          const problem = await readProblem(res);
          throw new AuthExpired(problem.code ?? "unauthenticated", problem.detail ?? "access refused", problem);
        }
      }
    }
    if (res.status >= 400 && !(opts.accept ?? []).includes(res.status)) throw await errorFrom(res);
    return { status: res.status, headers: res.headers, data: (await readBody(res)) as T };
  }

  private async send(opts: RequestOptions, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...(opts.headers ?? {}) };
    let body: string | Uint8Array | undefined = opts.body;
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.fetchFn(this.url(opts.path, opts.query), {
        method: opts.method ?? "GET",
        headers,
        body: body as BodyInit | undefined,
        signal: controller.signal,
      });
      return res;
    } catch (err) {
      if (err instanceof FieldlineError) throw err;
      const timedOut = controller.signal.aborted;
      throw new NetworkError(timedOut ? `no answer within ${this.timeoutMs} ms` : describe(err), err);
    } finally {
      clearTimeout(timer);
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // the body is not needed
  }
}

async function readBody(res: Response): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new NetworkError(`the answer was cut: ${describe(err)}`, err);
  }
  if (!text) return undefined;
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("json")) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FieldlineError(res.status, "malformed_response", "the server sent invalid JSON", { cause: err });
  }
}

async function readProblem(res: Response): Promise<Problem> {
  const body = await readBody(res).catch(() => undefined);
  return body && typeof body === "object" ? (body as Problem) : {};
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds. */
export function retryAfterMs(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export async function errorFrom(res: Response): Promise<FieldlineError> {
  const problem = await readProblem(res);
  const retryAfter = retryAfterMs(res.headers.get("retry-after"));
  return new FieldlineError(
    res.status,
    typeof problem.code === "string" ? problem.code : `http_${res.status}`,
    typeof problem.detail === "string" ? problem.detail : res.statusText || `HTTP ${res.status}`,
    retryAfter === undefined ? { problem } : { problem, retryAfterMs: retryAfter },
  );
}
