/** Errors raised by the SDK. Every one is a `FieldlineError` with `status`, `code` and `detail`. */

/** The body of an `application/problem+json` answer (RFC 9457) as the server sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { field: string | null; code: string; message: string }[];
  [extra: string]: unknown;
}

export class FieldlineError extends Error {
  /** HTTP status, or 0 when no answer came (network, local state). */
  readonly status: number;
  /** The problem+json `code` (stable, machine-readable), or an SDK code such as `network_error`. */
  readonly code: string;
  readonly detail: string;
  readonly problem: Problem | undefined;
  /** Milliseconds the server asked us to wait (`Retry-After`), when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    code: string,
    detail: string,
    options: { problem?: Problem; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`${code}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = options.problem;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Worth retrying later with the same request: the network, 5xx, 429 and 408. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** The request never got an answer (offline, DNS, connection reset, timeout). Always retryable. */
export class NetworkError extends FieldlineError {
  constructor(detail: string, cause?: unknown) {
    super(0, "network_error", detail, { cause });
  }
}

/** The session cannot be renewed (refresh token refused): log in again. Local data is kept. */
export class AuthExpired extends FieldlineError {
  constructor(code: string, detail: string, problem?: Problem) {
    super(401, code, detail, problem === undefined ? {} : { problem });
  }

  override get retryable(): boolean {
    return false;
  }
}

/** A call that needs a signed-in user was made before `login()`. */
export class NotLoggedIn extends FieldlineError {
  constructor() {
    super(0, "not_logged_in", "Call login() first");
  }

  override get retryable(): boolean {
    return false;
  }
}

/** Local state the SDK cannot repair by itself (for example an outbox with a gap in `seq`). */
export class LocalStateError extends FieldlineError {
  constructor(code: string, detail: string) {
    super(0, code, detail);
  }

  override get retryable(): boolean {
    return false;
  }
}
