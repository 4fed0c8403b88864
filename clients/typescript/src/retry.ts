/** Exponential backoff with full jitter for retryable failures (network, 5xx, 429, 408). */
import { FieldlineError } from "./errors.js";

export interface RetryPolicy {
  /** Attempts per request, the first included (default 6). */
  maxAttempts: number;
  /** Base of the exponential delay, ms (default 500). */
  baseDelayMs: number;
  /** Upper bound of one delay before jitter, ms (default 30 000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Longest wait a `Retry-After` may impose on one attempt, ms. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export interface RetryDeps {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** The delay before retry number `attempt` (0-based): uniform in [0, min(max, base * 2^attempt)],
 * and never shorter than what the server asked for. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const jittered = random() * ceiling;
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
  onRetry?: (err: FieldlineError, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof FieldlineError) || !err.retryable || attempt + 1 >= policy.maxAttempts) throw err;
      const delay = backoffDelay(policy, attempt, deps.random, err.retryAfterMs);
      onRetry?.(err, attempt, delay);
      await deps.sleep(delay);
    }
  }
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
